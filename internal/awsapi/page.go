package awsapi

import (
	"encoding/base64"
	"encoding/json"
)

// pageToken is what a pagination token (nextToken, NextToken, Marker)
// carries: the key of the last item returned. It is opaque to clients.
type pageToken struct {
	After string `json:"a"`
}

// PageToken is the token of a page that continues after key after.
func PageToken(after string) *string {
	b, _ := json.Marshal(pageToken{After: after})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// PageAfter is the key a token continues after: "" for no token; ok is
// false for one PageToken did not make (each API words that error its way).
func PageAfter(tok *string) (after string, ok bool) {
	if tok == nil || *tok == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(b, &pt)
	}
	if err != nil || pt.After == "" {
		return "", false
	}
	return pt.After, true
}
