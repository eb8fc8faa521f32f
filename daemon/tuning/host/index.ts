// The root-only host part of the tuner: plan, apply, revert, hold, advise.
export { adviseHost, findProcesses, parseCmdline } from "./advice.ts";
export { applyHost, hintFor, type HostState, isKnobPath, readState, revertHost, writeHostFile, writeState } from "./apply.ts";
export { cpuRoot, formatCpuList, onlineCpus, parseCpuList, presentCpuDirs, topologySiblings } from "./cpus.ts";
export { type CpuDmaLatencyHold, holdCpuDmaLatency } from "./dma-latency.ts";
export { DEFAULT_HOST_TUNING, type HostTuning } from "./knobs.ts";
export { type HostContext, parseBracketed, planHost, type PlannedWrite } from "./plan.ts";
export { DEFAULT_HOST_ROOTS, defaultStateFile, type HostRoots } from "./roots.ts";
