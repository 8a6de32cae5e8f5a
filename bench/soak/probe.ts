/**
 * A memory probe preloaded into the soaked processes (`node --expose-gc --require PROBE`), so the
 * soak can read what RSS is made of without changing the agent: the probe answers on a Unix socket
 * of its own (path in VPMD_SOAK_PROBE) with `process.memoryUsage()`, optionally after a full
 * garbage collection, runs V8's sampling heap profiler (through an in-process inspector session;
 * no port is opened) and writes heap snapshots on request. Its server is unref'd, so it never
 * keeps a process alive; the agent and the bare Node process carry the same probe, so whatever
 * it costs is on both sides of the comparison.
 */
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

/** The probe, as CommonJS for `--require` (which also preloads into an ESM main). */
const PROBE_SOURCE = `'use strict';
const net = require('node:net');
const v8 = require('node:v8');
const inspector = require('node:inspector');
const path = process.env.VPMD_SOAK_PROBE;
if (path) {
  // The variable must not reach the agent's own children (they would bind the same path).
  delete process.env.VPMD_SOAK_PROBE;
  const mem = () => {
    const m = process.memoryUsage();
    const c = v8.getHeapCodeStatistics();
    return {
      rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
      code: c.code_and_metadata_size + c.bytecode_and_metadata_size,
    };
  };
  let session;
  const post = (method, params) =>
    new Promise((resolve, reject) => {
      if (!session) { session = new inspector.Session(); session.connect(); }
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res)));
    });
  const run = async (cmd, arg) => {
    if (cmd === 'mem') return mem();
    if (cmd === 'gc') { globalThis.gc(); return mem(); }
    if (cmd === 'snapshot') return v8.writeHeapSnapshot(arg);
    // Sampled allocations still alive when the profile is read: what grew since sampling began.
    if (cmd === 'sampling-start') return post('HeapProfiler.startSampling', { samplingInterval: Number(arg) });
    if (cmd === 'sampling-profile') {
      globalThis.gc();
      const { profile } = await post('HeapProfiler.getSamplingProfile', {});
      await post('HeapProfiler.stopSampling', {});
      return profile;
    }
    throw new Error('unknown probe command ' + cmd);
  };
  const server = net.createServer((s) => {
    let buf = '';
    s.on('error', () => {});
    s.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\\n');
      if (nl < 0) return;
      const [cmd, arg] = buf.slice(0, nl).split(' ');
      run(cmd, arg).then(
        (ok) => s.end(JSON.stringify({ ok: ok === undefined ? null : ok }) + '\\n'),
        (e) => s.end(JSON.stringify({ error: String(e) }) + '\\n'),
      );
    });
  });
  server.listen(path);
  server.unref();
}
`;

/** `process.memoryUsage()` of a probed process, in bytes. */
export interface ProbeMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Compiled code and bytecode with their metadata (`v8.getHeapCodeStatistics()`), part of heapUsed. */
  code: number;
}

/** Writes the probe into `dir`; returns the Node flags that load it. */
export async function installProbe(dir: string): Promise<string[]> {
  const file = join(dir, 'soak-probe.cjs');
  await writeFile(file, PROBE_SOURCE);
  return ['--expose-gc', '--require', file];
}

/** One probe command on a fresh connection; rejects on an error reply or after `timeoutMs`. */
function probeCall(socket: string, line: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`probe ${socket}: no reply to ${line} in ${timeoutMs} ms`)));
    s.on('error', reject);
    s.on('data', (d: Buffer) => (buf += d.toString()));
    s.on('end', () => {
      try {
        const reply = JSON.parse(buf) as { ok?: unknown; error?: string };
        if (reply.error !== undefined) reject(new Error(`probe ${socket}: ${reply.error}`));
        else resolve(reply.ok);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    s.on('connect', () => s.write(`${line}\n`));
  });
}

/** Memory of the probed process; after a full garbage collection when `gc` is set. */
export async function probeMemory(socket: string, gc: boolean): Promise<ProbeMemory> {
  return (await probeCall(socket, gc ? 'gc' : 'mem', 30_000)) as ProbeMemory;
}

/** Starts V8's sampling heap profiler in the probed process, one sample per `intervalBytes`. */
export async function probeSamplingStart(socket: string, intervalBytes: number): Promise<void> {
  await probeCall(socket, `sampling-start ${intervalBytes}`, 30_000);
}

/** A node of V8's sampling heap profile: a call frame and the live sampled bytes it allocated. */
export interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** After a full GC: the sampled allocations since `probeSamplingStart` still alive; stops sampling. */
export async function probeSamplingProfile(socket: string): Promise<{ head: SamplingNode }> {
  return (await probeCall(socket, 'sampling-profile', 120_000)) as { head: SamplingNode };
}

/** Writes a heap snapshot of the probed process to `file` (it blocks that process meanwhile). */
export async function probeSnapshot(socket: string, file: string): Promise<string> {
  return (await probeCall(socket, `snapshot ${file}`, 300_000)) as string;
}
