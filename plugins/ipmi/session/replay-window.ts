/**
 * Inbound session sequence check (IPMI v2.0 section 13.28.4): accept a number once, within a
 * window of 32 below the highest seen; reject duplicates and anything older.
 */
export class ReplayWindow {
  private highest = 0;
  /** Bit i set: `highest - i` was seen. 32 bits, kept as an unsigned 32-bit number. */
  private seen = 0;

  /** True when `seq` is new and recent; records it. */
  accept(seq: number): boolean {
    if (seq === 0) return false;
    if (this.highest === 0 || seq > this.highest) {
      const shift = this.highest === 0 ? 32 : seq - this.highest;
      this.seen = shift >= 32 ? 1 : ((this.seen << shift) | 1) >>> 0;
      this.highest = seq;
      return true;
    }
    const age = this.highest - seq;
    if (age >= 32) return false;
    const bit = (1 << age) >>> 0;
    if ((this.seen & bit) !== 0) return false;
    this.seen = (this.seen | bit) >>> 0;
    return true;
  }
}
