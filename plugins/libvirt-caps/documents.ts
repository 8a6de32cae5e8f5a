/**
 * The two capabilities documents (libvirt XML and vpmd's power JSON), built on demand, and
 * written to configured files for schedulers that read files: atomically, and only when the
 * content changed (a scheduler watching mtime sees real changes only).
 */
import { readFile } from 'node:fs/promises';
import { type CapabilitiesDocuments, type PluginContext, type SleepSupport, writeFileAtomic } from 'vpmd';
import { readLibvirtFacts, resolveHostUuid, type UuidSource } from './host-facts.js';
import { buildLibvirtCapabilities } from './libvirt-xml.js';
import { buildPowerDocument, type WakeOnLanSettings } from './power-document.js';
import type { PowerDocument } from './power-document-schema.js';

/** Files to keep up to date. */
export interface DocumentFiles {
  readonly libvirt?: string;
  readonly power?: string;
}

/** Builds and writes the documents. */
export class Documents implements CapabilitiesDocuments {
  private uuid: { uuid: string; source: UuidSource } | undefined;
  private readonly written = new Map<string, string>();

  constructor(
    private readonly ctx: PluginContext,
    private readonly support: () => Promise<SleepSupport>,
    private readonly wol: WakeOnLanSettings,
    private readonly files: DocumentFiles,
    private readonly configuredUuid?: string,
  ) {}

  /** The stable host UUID and where it came from. */
  async hostUuid(): Promise<{ uuid: string; source: UuidSource }> {
    this.uuid ??= await resolveHostUuid(this.ctx.host, this.ctx.state, this.configuredUuid);
    return this.uuid;
  }

  /** The libvirt capabilities XML (host part), valid against libvirt 9.0's capability.rng. */
  async libvirtXml(): Promise<string> {
    const [facts, support] = await Promise.all([
      readLibvirtFacts(this.ctx.host, await this.hostUuid()),
      this.support(),
    ]);
    return buildLibvirtCapabilities(facts, support);
  }

  /** vpmd's power document (see power-capabilities.schema.json). */
  async powerDocument(): Promise<PowerDocument> {
    const [uuid, support] = await Promise.all([this.hostUuid(), this.support()]);
    return buildPowerDocument(this.ctx.host, uuid.uuid, support, this.wol);
  }

  /** Writes each configured file whose content changed; returns the files written. */
  async writeFiles(): Promise<string[]> {
    const out: string[] = [];
    if (this.files.libvirt !== undefined && (await this.writeIfChanged(this.files.libvirt, await this.libvirtXml())))
      out.push(this.files.libvirt);
    if (
      this.files.power !== undefined &&
      (await this.writeIfChanged(this.files.power, `${JSON.stringify(await this.powerDocument(), null, 2)}\n`))
    )
      out.push(this.files.power);
    return out;
  }

  private async writeIfChanged(file: string, content: string): Promise<boolean> {
    // Compare with the file itself on the first write: a restart must not rewrite an unchanged file.
    const previous = this.written.get(file) ?? (await readFile(file, 'utf8').catch(() => undefined));
    if (previous === content) {
      this.written.set(file, content);
      return false;
    }
    await writeFileAtomic(file, content, 0o644);
    this.written.set(file, content);
    this.ctx.log.info({ file }, 'capabilities document written');
    return true;
  }
}
