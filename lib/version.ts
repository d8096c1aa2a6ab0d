/** The version of phoenix-setup, printed by `--version`. */
export const VERSION = "0.1.0";
