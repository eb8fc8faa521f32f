// Preloaded by `bun test` (bunfig.toml): keeps the daemon's info lines out of test output.
import { configureLog } from "../../daemon/log.ts";

configureLog("error", "text");
