"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { ApiClientError } from "@/lib/api-client.ts";
import { ClientButton } from "./client-controls.tsx";

interface ConfirmActionProps {
  /** The first button's text ("Revoke…"), and its accessible name where the text alone is ambiguous (a row of a list). */
  label: string;
  name?: string;
  /** The first button is a red one (the page's main action) rather than a link. */
  danger?: boolean;
  /** The confirm group's accessible name and, when the action needs explaining, the question it asks. */
  groupLabel: string;
  question?: string;
  /** The confirming button's text, what it says while the request runs, and the cancel button's text. */
  confirm: string;
  busyLabel?: string;
  cancel?: string;
  /** The request; an `ApiClientError`'s message is shown as it is, anything else as `failed`. */
  request: () => Promise<unknown>;
  failed: string;
  /** Said once the request succeeded, the action staying disabled; without it the page is refreshed to show the change. */
  done?: string;
  /** data-testid of the first and the confirming button; the message gets `${testId}-status`. */
  testId: string;
  confirmTestId: string;
}

/**
 * An action that asks first: its button → a confirm group (confirm or keep) → the request, both
 * buttons disabled meanwhile → the page refreshed (or `done` said) → on failure, the error as an
 * alert and the action offered again.
 */
export function ConfirmAction(props: ConfirmActionProps) {
  const router = useRouter();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  async function run() {
    setBusy(true);
    try {
      await props.request();
      if (props.done !== undefined) {
        // Done for good: the action stays disabled and says so.
        setMessage({ text: props.done, error: false });
        setConfirming(false);
        return;
      }
      router.refresh();
    } catch (error) {
      setMessage({ text: error instanceof ApiClientError ? error.message : props.failed, error: true });
    }
    setBusy(false);
    setConfirming(false);
  }

  // A question is a paragraph, which a span cannot hold; without one the group stays inline (table rows).
  const Group = props.question ? "div" : "span";
  return (
    <div>
      {confirming ? (
        <Group role="group" aria-label={props.groupLabel}>
          {props.question ? <p>{props.question}</p> : null}
          <ClientButton className="danger" disabled={busy} onClick={() => void run()} data-testid={props.confirmTestId}>{busy && props.busyLabel ? props.busyLabel : props.confirm}</ClientButton>{" "}
          <ClientButton className="link-button" disabled={busy} onClick={() => setConfirming(false)}>{props.cancel ?? "Keep"}</ClientButton>
        </Group>
      ) : (
        <ClientButton className={props.danger ? "danger" : "link-button"} disabled={busy} onClick={() => setConfirming(true)} aria-label={props.name} data-testid={props.testId}>{props.label}</ClientButton>
      )}
      {message ? <p role={message.error ? "alert" : "status"} className={message.error ? "error-text" : undefined} data-testid={`${props.testId}-status`}>{message.text}</p> : null}
    </div>
  );
}
