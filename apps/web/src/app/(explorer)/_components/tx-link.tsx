/** A transaction signature, shortened, linking to its explorer page. */
export function TxLink({ signature }: { signature: string }) {
  return (
    <a href={`/tx/${signature}`} title={signature}>
      <code>{`${signature.slice(0, 8)}…${signature.slice(-6)}`}</code>
    </a>
  );
}
