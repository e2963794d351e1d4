// Confirmation and form dialogs on the native <dialog>: showModal() traps focus, Escape closes it and focus
// returns to the control that opened it.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { Alert, useSubmit } from './ui.js';

interface DialogProps {
  readonly title: string;
  readonly children: ComponentChildren;
  /** The label of the button that does it, e.g. "Revoke key". */
  readonly confirmLabel: string;
  readonly danger?: boolean;
  /** Runs the change; a rejection is shown in the dialog, which stays open. */
  readonly onConfirm: () => Promise<void>;
  readonly onClose: () => void;
}

export function Dialog(props: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
  }, []);
  const confirm = useSubmit(async () => {
    await props.onConfirm();
    ref.current?.close();
  });
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={props.onClose}>
      <form method="dialog" onSubmit={confirm.onSubmit}>
        <h2 id={titleId} class="dialog-title">
          {props.title}
        </h2>
        {props.children}
        <Alert error={confirm.error} />
        <div class="actions">
          <button type="button" class="secondary" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" class={props.danger === true ? 'danger' : 'primary'} disabled={confirm.busy}>
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
