// Public surface of the config.json model.
export * from './types';
export { SpecError, parseSpec, validateSpec, stringifySpec, validateProcess } from './validate';
export { defaultSpec, SPEC_VERSION } from './default-spec';
export type { DefaultSpecOptions } from './default-spec';
export { CAPABILITIES, RLIMITS, NAMESPACE_TYPES } from './constants';
export { JsonSyntaxError, parseJson, stringifyJson } from './json';
