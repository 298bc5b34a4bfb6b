export { localModeUnavailable } from './preflight.ts';
export { runQuickstart, type QuickstartOptions } from './local.ts';
