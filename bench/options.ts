/** Command-line options of the benchmarks: `--name VALUE`. */

/** The number after `--name`, or `dflt` when the option is not given. */
export function numberOption(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
