/** The version tradingd reports (`tradingd version`, `/status`). Kept equal to package.json's. */
export const VERSION = "0.1.0";
