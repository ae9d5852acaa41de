// Package deploycheck holds the tests that keep deploy/kubernetes in step
// with stack.yml and the chain table (shared/chain): the Function resources
// regenerated with the real faas-cli, MinIO's webhook targets, the secrets,
// the services the functions look for, the gateway's timeouts and the
// cron-connector. It has no code of its own.
package deploycheck
