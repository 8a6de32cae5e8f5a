/**
 * The bare Node host both channel benchmarks measure against: connect to every channel,
 * reassemble frames, read the header (what vpmd reads of a CPU_POWER request) and ACK, with no
 * mapping and no actuation, i.e. the transport alone. bench:channels calls it the baseline,
 * bench:channels-stock the Node floor; one definition keeps the two the same host.
 */
import { connect } from 'node:net';
import { FrameReader, encodeAck, peekRequest } from '../../plugins/virtio-channels/protocol/packet-codec.js';
import { REQUEST_SIZE } from '../../plugins/virtio-channels/protocol/packet-layout.js';

/** Connects to every socket in `paths` and answers each request; returns a function that disconnects. */
export function startBareHost(paths: readonly string[]): () => void {
  const socks = paths.map((p) => {
    const sock = connect(p);
    const reader = new FrameReader(REQUEST_SIZE);
    sock.on('data', (d: Buffer) => {
      for (const f of reader.push(d)) {
        peekRequest(f);
        sock.write(encodeAck(f, true));
      }
    });
    return sock;
  });
  return () => socks.forEach((s) => s.destroy());
}
