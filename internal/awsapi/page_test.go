package awsapi

import "testing"

func TestPageToken(t *testing.T) {
	// The format is what clients hold between calls: it must not change.
	if got := *PageToken("x"); got != "eyJhIjoieCJ9" {
		t.Errorf(`PageToken("x") = %q; want "eyJhIjoieCJ9" (base64url of {"a":"x"})`, got)
	}
	for _, tc := range []struct {
		tok   *string
		after string
		ok    bool
	}{
		{nil, "", true},
		{new(string), "", true},
		{PageToken("web\x00b"), "web\x00b", true},
		{ptr("not base64!"), "", false},
		{ptr("e30"), "", false}, // {}: no key
	} {
		after, ok := PageAfter(tc.tok)
		if after != tc.after || ok != tc.ok {
			t.Errorf("PageAfter(%v) = %q, %v; want %q, %v", tc.tok, after, ok, tc.after, tc.ok)
		}
	}
}

func ptr(s string) *string { return &s }
