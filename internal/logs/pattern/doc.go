// Package pattern parses and evaluates CloudWatch Logs filter patterns, the
// syntax FilterLogEvents (and metric and subscription filters) match log
// event messages with:
//
//   - terms: ERROR Exception (every term must appear, case-sensitive), "exact
//     phrase", ?ERROR ?WARN (any of), -DEBUG (none of), "" (everything);
//   - JSON: { $.level = "error" && ($.latency > 500 || $.user.id != 1) },
//     with =, !=, <, <=, >, >=, leading and trailing * wildcards in string
//     values, %regex% values, IS NULL, IS TRUE, IS FALSE, NOT EXISTS and
//     array indexes ($.a[0].b);
//   - space-delimited: [ip, user, ..., status = 4*, bytes > 1000];
//   - a standalone regular expression: %ERROR|WARN%.
//
// It imports only the standard library.
package pattern
