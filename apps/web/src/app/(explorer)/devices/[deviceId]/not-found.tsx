export default function DeviceNotFound() {
  return (
    <div className="panel empty" data-testid="not-found">
      <h1>Device not found</h1>
      <p>There is no device with this id on the network.</p>
      <p><a href="/devices">Browse devices</a></p>
    </div>
  );
}
