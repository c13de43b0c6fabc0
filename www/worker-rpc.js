// The protocol both playground workers speak: one request in, one reply out, in order:
// { id, type, ...args } -> { id, ok: true, ...reply } or { id, ok: false, error }.
export function serve(handlers) {
  self.onmessage = async (event) => {
    const { id, type, ...args } = event.data;
    try {
      const reply = await handlers[type](args);
      self.postMessage({ id, ok: true, ...reply });
    } catch (e) {
      self.postMessage({ id, ok: false, error: { name: e?.name ?? 'Error', code: e?.code ?? null, message: String(e?.message ?? e) } });
    }
  };
}
