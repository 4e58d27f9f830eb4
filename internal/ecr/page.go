package ecr

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// pageToken is what a nextToken carries: the key of the last item
// returned. It is opaque to clients.
type pageToken struct {
	After string `json:"a"`
}

func encodeToken(after string) *string {
	b, _ := json.Marshal(pageToken{After: after})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodeToken(tok *string) (string, error) {
	if tok == nil || *tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(b, &pt)
	}
	if err != nil || pt.After == "" {
		return "", invalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'")
	}
	return pt.After, nil
}

// pageArgs checks maxResults (1..max, default max) and nextToken.
func pageArgs(maxResults *int32, nextToken *string, max int) (int, string, error) {
	n := max
	if maxResults != nil {
		n = int(*maxResults)
		if n < 1 {
			return 0, "", constraint("maxResults", "Member must have value greater than or equal to 1")
		}
		if n > max {
			return 0, "", constraint("maxResults", fmt.Sprintf("Member must have value less than or equal to %d", max))
		}
	}
	after, err := decodeToken(nextToken)
	return n, after, err
}
