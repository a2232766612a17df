export default function SupplierNotFound() {
  return (
    <div className="panel empty" data-testid="not-found">
      <h1>Supplier not found</h1>
      <p>No supplier has this id, wallet or on-chain address.</p>
      <p><a href="/devices">Browse devices</a></p>
    </div>
  );
}
