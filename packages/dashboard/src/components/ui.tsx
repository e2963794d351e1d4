// Small building blocks shared by the pages: labelled fields with their error from the problem details,
// alerts, empty states, scrollable tables and the data-loading hook.
import type { ComponentChildren, SubmitEventHandler } from 'preact';
import { useCallback, useEffect, useId, useState } from 'preact/hooks';
import { ApiError } from '../api.js';

interface FieldProps {
  readonly label: string;
  readonly value: string;
  readonly onValue: (value: string) => void;
  readonly error?: string | undefined;
  readonly hint?: string;
  readonly type?: 'text' | 'password' | 'number' | 'datetime-local' | 'search';
  readonly required?: boolean;
  readonly autoComplete?: string;
  readonly min?: number;
  readonly max?: number;
  readonly placeholder?: string;
}

/** A labelled input; its error (from the problem details' `errors`) is tied to it by aria-describedby. */
export function Field(props: FieldProps) {
  const id = useId();
  const described = [props.hint !== undefined && `${id}-hint`, props.error !== undefined && `${id}-error`]
    .filter((part) => part !== false)
    .join(' ');
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        // Preact's types narrow attributes by input type; these fields share the text ones.
        type={(props.type ?? 'text') as 'text'}
        value={props.value}
        onInput={(event) => props.onValue(event.currentTarget.value)}
        required={props.required}
        autoComplete={props.autoComplete ?? 'off'}
        spellcheck={false}
        min={props.min}
        max={props.max}
        placeholder={props.placeholder}
        aria-invalid={props.error !== undefined}
        aria-describedby={described === '' ? undefined : described}
      />
      {props.hint !== undefined && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error !== undefined && (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

interface SelectProps {
  readonly label: string;
  readonly value: string;
  readonly onValue: (value: string) => void;
  readonly options: readonly { readonly value: string; readonly label: string }[];
  readonly error?: string | undefined;
}

export function Select(props: SelectProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(event) => props.onValue(event.currentTarget.value)}
        aria-invalid={props.error !== undefined}
        aria-describedby={props.error === undefined ? undefined : `${id}-error`}
      >
        {props.options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {props.error !== undefined && (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** An error message read out when it appears. */
export function Alert({ error }: { readonly error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p class="alert" role="alert">
      {message}
    </p>
  );
}

export function Notice({ children }: { readonly children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

export function Empty({ children }: { readonly children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** A table that scrolls sideways on a narrow screen; focusable so that the keyboard can scroll it. */
export function TableRegion({
  label,
  children,
}: {
  readonly label: string;
  readonly children: ComponentChildren;
}) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus to be scrolled by keyboard (WCAG 2.1.1)
    <section class="table-region" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}

/** The field errors of a refusal, by field name. */
export function fieldErrors(error: unknown): Readonly<Record<string, string>> {
  return error instanceof ApiError ? error.fields : {};
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/** Loads `load()` now and whenever `deps` change or `reload()` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  // The caller names what the load depends on.
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => current && setState((previous) => ({ data: previous.data, error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}

/** A form submit handler that does not reload the page. */
export function onSubmit(handler: () => void): SubmitEventHandler<HTMLFormElement> {
  return (event) => {
    event.preventDefault();
    handler();
  };
}

export interface Submission {
  /** The last refusal, shown in an alert; undefined while submitting again. */
  readonly error: unknown;
  /** Its field errors, by field name, to show beside their fields. */
  readonly errors: Readonly<Record<string, string>>;
  readonly busy: boolean;
  readonly onSubmit: SubmitEventHandler<HTMLFormElement>;
}

/** A form that runs `action` when submitted and keeps its refusal, the same way in every form. */
export function useSubmit(action: () => Promise<void>): Submission {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = onSubmit(() => {
    setBusy(true);
    setError(undefined);
    action().then(
      () => setBusy(false),
      (caught: unknown) => {
        setError(caught);
        setBusy(false);
      },
    );
  });
  return { error, errors: fieldErrors(error), busy, onSubmit: submit };
}
