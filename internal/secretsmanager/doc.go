// Package secretsmanager implements the AWS Secrets Manager API (awsJson 1.1,
// target prefix "secretsmanager") on Berth's state store: secrets, their
// versions and staging labels, tags, scheduled deletion and restore, and
// GetRandomPassword. It also resolves the Secrets Manager references of ECS
// container definitions (Resolve) for the node agent.
//
// Every version's value is sealed with the keyring before it is stored; the
// associated data binds it to the secret's ARN and the version id. Values
// appear only in GetSecretValue and BatchGetSecretValue responses and in
// what Resolve returns, never in other responses, documents or logs.
//
// Each secret is one document (metadata, versions and their labels) and each
// version's sealed value another, written together with optimistic
// preconditions. Run purges secrets whose recovery window has passed.
//
// It imports awsapi, awsjson, errdefs, keyring and state; nothing imports it
// but the server wiring.
package secretsmanager
