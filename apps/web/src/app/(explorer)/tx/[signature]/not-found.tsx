export default function TransactionNotFound() {
  return (
    <div className="panel empty" data-testid="not-found">
      <h1>Transaction not found</h1>
      <p>No GPUMesh program transaction with this signature has been indexed. It may be another program’s, still unconfirmed, or mistyped.</p>
      <p><a href="/devices">Browse devices</a></p>
    </div>
  );
}
