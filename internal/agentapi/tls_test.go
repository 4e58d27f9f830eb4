package agentapi_test

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/agentapi"
)

func TestParseJoinToken(t *testing.T) {
	fp := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		token, secret, fp string
	}{
		{"berth-join-abc." + fp, "berth-join-abc", fp},
		{"berth-join-abc." + strings.ToUpper(fp), "berth-join-abc", fp},
		{"berth-join-abc", "berth-join-abc", ""},           // an older server's token
		{"berth-join-abc.0f0f", "berth-join-abc.0f0f", ""}, // too short to be a fingerprint
		{"a.b." + fp, "a.b", fp},                           // the fingerprint is the last part
		{"berth-join-abc." + fp[:63] + "x", "berth-join-abc." + fp[:63] + "x", ""},
	} {
		secret, got := agentapi.ParseJoinToken(tc.token)
		if secret != tc.secret || got != tc.fp {
			t.Errorf("ParseJoinToken(%q) = %q, %q; want %q, %q", tc.token, secret, got, tc.secret, tc.fp)
		}
		if tc.fp != "" && agentapi.JoinToken(secret, got) != strings.ToLower(tc.token) {
			t.Errorf("JoinToken(ParseJoinToken(%q)) = %q; want it back", tc.token, agentapi.JoinToken(secret, got))
		}
	}
}

// TestNewClientRefusesPlainHTTPToAnotherHost: secrets cross the agent API,
// so only loopback may be reached without TLS.
func TestNewClientRefusesPlainHTTPToAnotherHost(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:4566", true},
		{"http://localhost:4566", true},
		{"http://[::1]:4566", true},
		{"https://10.0.0.5:4566", true},
		{"http://10.0.0.5:4566", false},
		{"http://berth.internal:4566", false},
		{"ftp://127.0.0.1:4566", false},
	} {
		_, err := agentapi.NewClient(tc.url, "")
		if (err == nil) != tc.ok {
			t.Errorf("NewClient(%s) = %v; want ok %v", tc.url, err, tc.ok)
		}
	}
}
