/** A refused option: what a program passed to `createPortcullisServer`, or a flag or variable of the CLI. */
export class OptionError extends Error {
  override name = 'OptionError';
}
