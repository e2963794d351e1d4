// A secret (API key or admin token) shown the one time the API returns it, with a copy button and a plain
// warning. It lives in component state only: never stored, logged or put in the URL.
import { useId, useRef, useState } from 'preact/hooks';

interface SecretProps {
  /** What it is, e.g. "API key"; also the field's label. */
  readonly label: string;
  readonly value: string;
  readonly onDismiss: () => void;
}

export function SecretOnce({ label, value, onDismiss }: SecretProps) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // Without clipboard access (an untrusted certificate can deny it) select it for Ctrl+C instead.
      input.current?.select();
      setCopied('failed');
    }
  };
  return (
    <section class="secret" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Copy the new {label} now</h2>
      <p class="warning">
        <strong>It will not be shown again.</strong> Portcullis keeps only a hash of it: if it is lost, create
        another and revoke this one.
      </p>
      <div class="field">
        <label for={id}>{label}</label>
        <div class="secret-row">
          <input
            id={id}
            ref={input}
            readOnly
            value={value}
            spellcheck={false}
            autoComplete="off"
            onFocus={(event) => event.currentTarget.select()}
          />
          <button type="button" class="primary" onClick={() => void copy()}>
            Copy
          </button>
        </div>
      </div>
      <p role="status" class="hint">
        {copied === 'yes' && 'Copied to the clipboard.'}
        {copied === 'failed' && 'The browser refused the clipboard: the text is selected, press Ctrl+C.'}
      </p>
      <button type="button" class="secondary" onClick={onDismiss}>
        I have copied it
      </button>
    </section>
  );
}
