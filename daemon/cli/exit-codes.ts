/** Process exit codes (sysexits.h where one fits). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** EX_CONFIG: the configuration is wrong. */
export const EXIT_CONFIG = 78;

/** A command-line mistake: printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    readonly command: string = "",
  ) {
    super(message);
  }
}
