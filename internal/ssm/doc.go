// Package ssm implements the Parameter Store operations of the AWS Systems
// Manager API (awsJson 1.1, AmazonSSM): parameters with versions, labels and
// tags, hierarchies and their queries, on Berth's state store. SecureString
// values are sealed with the keyring (package keyring), bound to their
// parameter's ARN and version, and never stored, logged or returned in
// plaintext unless a caller asks for decryption; String and StringList
// values are stored as they are.
//
// It also serves the agent (Resolve, to fill a container's secrets) and the
// keyring (RewrapAll, after a master key rotation).
//
// It imports awsapi, awsjson, errdefs, keyring and state; nothing imports it
// but the server wiring.
package ssm
