// The address a request came from, for the few places that need it (the dashboard's sign-in throttle):
// Bun hands it to the listener's handler (server.requestIP), not to the routes behind Elysia.
const peers = new WeakMap<Request, string>();

export function notePeer(req: Request, address: string): void {
  peers.set(req, address);
}

/** the peer's address as noted by the handler; undefined when it was not noted */
export const peerOf = (req: Request): string | undefined => peers.get(req);
