// Package pipeline runs Clockwork's stages in order for one configuration
// directory: intake -> assembly -> forge (build, validate, write) -> executor
// -> state. The CLI and the daemon call exactly this path, so what a user
// sees from `clockwork apply` is what the daemon does.
//
// Invariants:
//   - Plan never writes anything and never calls a compiler.
//   - Build never executes a step.
//   - Apply, Verify and Destroy hold the state lock for their whole run and
//     save state after every finished step (group commit), so a kill loses at
//     most the steps in flight.
//   - Secret values live only in memory (assembly.Plan.Secrets) and reach
//     steps through their environment.
package pipeline
