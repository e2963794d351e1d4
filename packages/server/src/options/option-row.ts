import { type LimitWindow, parseLimitWindows } from '../limits/window-spec.js';
import { isCidr } from '../net/trusted-proxies.js';
import { OptionError } from './option-error.js';

/**
 * One option, declared once: its flag and environment variable, its default, how text becomes its value,
 * how a value is checked, and its help line. `Input` is what a caller gives (`ServerOptions`), `Output`
 * what the server uses once checked. The CLI builds its flags from rows (`cli/option-flags.ts`), the
 * server checks its options with them (`config.ts`), and a test holds the README's table to them.
 */
export interface OptionRow<Input, Output> {
  /** The long flag, such as `--token-ttl`. */
  readonly flag: `--${string}`;
  /** What the flag takes, such as `<seconds>`; none for a switch, which is on when given. */
  readonly placeholder: string | undefined;
  /** The environment variable read when the flag is not given. */
  readonly env: `PORTCULLIS_${string}`;
  readonly help: string;
  readonly default: Input | undefined;
  /** How help and the README show the default, when not as the value itself. */
  readonly defaultText: string | undefined;
  /** The only values the flag takes, for options that have a short fixed list. */
  readonly choices: readonly string[] | undefined;
  /** Text from the command line or the environment to a value; `previous` is the value so far of a list. */
  parse(text: string, previous: Input | undefined): Input;
  /**
   * The value the server uses, or an OptionError naming `field` (what a program passes) and the flag and
   * variable (what an operator types). The value is checked at run time: programs in plain JavaScript, and
   * parsed text, can hold anything.
   */
  resolve(value: unknown, field: string): Output;
}

/** The value a caller gives for a row. */
export type InputOf<Row> = Row extends OptionRow<infer Input, unknown> ? Input : never;

interface Declared<T> {
  readonly flag: `--${string}`;
  readonly placeholder?: string;
  readonly env: `PORTCULLIS_${string}`;
  readonly help: string;
  readonly default?: T;
  readonly defaultText?: string;
}

/** `field must … (--flag, PORTCULLIS_FLAG)`: the field for programs, the flag and variable for operators. */
function refuse(declared: Declared<unknown>, field: string, rule: string): OptionError {
  return new OptionError(`${field} ${rule}${where(declared)}`);
}

function where(declared: Declared<unknown>): string {
  return ` (${declared.flag}, ${declared.env})`;
}

const asText = (text: string) => text;

export function integerOption(
  declared: Declared<number> & { readonly default: number; readonly min: number; readonly max: number },
): OptionRow<number, number> {
  const { min, max } = declared;
  return row(declared, {
    // Anything but digits becomes NaN, which resolve() refuses with the option's own message.
    parse: (text) => (/^\d+$/.test(text) ? Number(text) : Number.NaN),
    resolve: (value, field) => {
      const number = value ?? declared.default;
      if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
        throw refuse(declared, field, `must be an integer from ${min} to ${max}`);
      }
      return number;
    },
  });
}

/** A TCP port, or `off` for a listener that is not wanted; resolves to undefined when off. */
export function portOrOffOption(
  declared: Declared<number | 'off'> & { readonly default: number },
): OptionRow<number | 'off', number | undefined> {
  return row(declared, {
    parse: (text) => (text === 'off' ? 'off' : /^\d+$/.test(text) ? Number(text) : Number.NaN),
    resolve: (value, field) => {
      const port = value ?? declared.default;
      if (port === 'off') return undefined;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
        throw refuse(declared, field, 'must be an integer from 0 to 65535, or "off"');
      }
      return port;
    },
  });
}

/** A string that must not be empty, with a default. */
export function textOption(
  declared: Declared<string> & { readonly default: string },
): OptionRow<string, string> {
  return row(declared, {
    parse: asText,
    resolve: (value, field) => {
      const text = value ?? declared.default;
      if (typeof text !== 'string' || text === '')
        throw refuse(declared, field, 'must be a non-empty string');
      return text;
    },
  });
}

/** A string without default, checked by `accepts` (anything, when not given), then turned by `convert`. */
export function optionalOption<Output = string>(
  declared: Declared<string> & {
    readonly accepts?: (text: string) => boolean;
    /** What the value must be, for the message: `must be a postgres:// URL`. */
    readonly rule?: string;
    readonly convert?: (text: string, refusal: (rule: string) => OptionError) => Output;
  },
): OptionRow<string, Output | undefined> {
  return row(declared, {
    parse: asText,
    resolve: (value, field) => {
      if (value === undefined) return undefined;
      const refusal = (rule: string) => refuse(declared, field, rule);
      if (typeof value !== 'string' || !(declared.accepts?.(value) ?? true)) {
        throw refusal(declared.rule ?? 'must be a string');
      }
      return declared.convert === undefined ? (value as Output) : declared.convert(value, refusal);
    },
  });
}

/** On when its flag is given or its variable is set (to anything); off by default. */
export function switchOption(declared: Omit<Declared<boolean>, 'placeholder'>): OptionRow<boolean, boolean> {
  return row(
    { ...declared, default: false },
    {
      parse: () => true,
      resolve: (value, field) => {
        const on = value ?? false;
        if (typeof on !== 'boolean') throw refuse(declared, field, 'must be true or false');
        return on;
      },
    },
  );
}

export function choiceOption<Choice extends string>(
  declared: Declared<Choice> & { readonly default: Choice; readonly choices: readonly Choice[] },
): OptionRow<Choice, Choice> {
  const { choices } = declared;
  const isChoice = (value: unknown): value is Choice => (choices as readonly unknown[]).includes(value);
  return row(declared, {
    // Commander refuses other text with the list of choices; resolve() refuses what a program passes.
    parse: (text) => text as Choice,
    resolve: (value, field) => {
      const choice = value ?? declared.default;
      if (!isChoice(choice)) {
        throw refuse(declared, field, `must be ${choices.map((c) => `"${c}"`).join(' or ')}`);
      }
      return choice;
    },
  });
}

/** Limit windows, `COUNT/WINDOW,…` or `off` (limits/window-spec.ts). */
export function limitsOption(
  declared: Declared<string> & { readonly default: string },
): OptionRow<string, readonly LimitWindow[]> {
  return row(declared, {
    parse: asText,
    resolve: (value, field) => {
      const text = value ?? declared.default;
      try {
        // Not a string is refused as text that is not of the form.
        return parseLimitWindows(field, typeof text === 'string' ? text : '');
      } catch (error) {
        throw new OptionError(`${(error as Error).message}${where(declared)}`);
      }
    },
  });
}

/**
 * IP addresses and CIDR ranges: the flag may be repeated or take several, and the variable holds them
 * separated by commas.
 */
export function addressesOption(
  declared: Declared<readonly string[]>,
): OptionRow<readonly string[], readonly string[]> {
  return row(declared, {
    parse: (text, previous) => [...(previous ?? []), ...text.split(',').filter(Boolean)],
    resolve: (value, field) => {
      const list = value ?? [];
      if (!Array.isArray(list) || !list.every((item) => typeof item === 'string' && isCidr(item))) {
        throw refuse(declared, field, 'must be IP addresses or CIDR ranges such as 10.0.0.0/8');
      }
      return Object.freeze([...list]);
    },
  });
}

/** The row of `declared` (without what only its builder uses, such as bounds), doing `behaviour`. */
function row<Input, Output>(
  declared: Declared<Input> & { readonly choices?: readonly string[] },
  behaviour: Pick<OptionRow<Input, Output>, 'parse' | 'resolve'>,
): OptionRow<Input, Output> {
  const { flag, placeholder, env, help, defaultText, choices } = declared;
  return Object.freeze({
    flag,
    placeholder,
    env,
    help,
    default: declared.default,
    defaultText,
    choices,
    ...behaviour,
  });
}
