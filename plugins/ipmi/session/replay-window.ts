/**
 * Inbound session sequence check (IPMI v2.0 section 13.28.4): accept a number once, within a
 * window of 32 below the highest seen; reject duplicates and anything older.
 */
export class ReplayWindow {
  private highest = 0;
  private seen = 0n;

  /** True when `seq` is new and recent; records it. */
  accept(seq: number): boolean {
    if (seq === 0) return false;
    if (this.highest === 0 || seq > this.highest) {
      const shift = this.highest === 0 ? 64 : seq - this.highest;
      this.seen = shift >= 64 ? 1n : ((this.seen << BigInt(shift)) | 1n) & 0xffffffffffffffffn;
      this.highest = seq;
      return true;
    }
    const age = this.highest - seq;
    if (age >= 32) return false;
    const bit = 1n << BigInt(age);
    if ((this.seen & bit) !== 0n) return false;
    this.seen |= bit;
    return true;
  }
}
