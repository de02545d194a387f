// Package openai is the AI compiler: it asks any OpenAI-compatible chat
// completions endpoint (OpenAI, OpenRouter, Ollama, LM Studio, vLLM,
// llama.cpp's server) to turn an ActionList into an ArtifactBundle.
//
// Invariants:
//   - The model's answer is untrusted input. Compile returns a bundle only
//     after it parsed against the real bundle JSON Schema and passed the
//     injected validator (forge's, the trust boundary); otherwise it returns
//     an error and no bundle. Compile never writes or runs an artifact: forge
//     validates again and writes.
//   - One model call per Compile for the whole ActionList (mixed mode: for the
//     steps the fallback compiler refuses), plus at most MaxRepairs repair
//     calls that continue the conversation with the validator's findings.
//   - The model sees only the ActionList and the EnvFacts. Both hold variable
//     names, never secret values; no other input reaches the prompt.
//   - Every request and raw answer is logged to AgentDir as prompt-<n>.json and
//     answer-<n>.txt (0644, temp file + rename). The API key is never logged.
//   - Settings changes whenever something other than the ActionList would
//     change the answer (model, prompt version, mode, endpoint host), so
//     forge's cache is invalidated.
package openai
