// safeckpt/demo — the kit `safeckpt demo`, the examples and the exact-resume tests train with: a tiny
// Qwen2-shaped transformer LM in TensorFlow.js core ops, its character corpus, a seeded sampler whose
// cursor is state, a PRNG whose state is one u32, and a resumable training loop. Not part of the
// library proper (`safeckpt`): a model of your own needs none of it.
export { TinyLM, TINY_LM_DEFAULTS, tinyLMParameterShapes } from './tiny-lm.js';
export type { TinyLMConfig } from './tiny-lm.js';
export { TextSampler } from './sampler.js';
export type { SamplerCursor, Batch } from './sampler.js';
export { CORPUS, charVocab, encode, decode } from './corpus.js';
export { Prng, mixSeed } from './prng.js';
export { trainStep, TrainLoop } from './train.js';
export { qwenToTinyLMConfig } from './qwen-config.js';
