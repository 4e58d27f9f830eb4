package ssm

import (
	"encoding/base64"
	"encoding/json"

	"github.com/berthhq/berth/internal/awsapi"
)

// pageToken is what a NextToken carries: the position after which the next
// page starts (a canonical name, or a version number). It is opaque to
// clients, and names no tenancy: the caller's own is used.
type pageToken struct {
	After string `json:"a"`
}

var errBadToken = &awsapi.Error{Code: "InvalidNextToken", Message: "The specified token isn't valid."}

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
		return "", errBadToken
	}
	return pt.After, nil
}

// pageSize is MaxResults (already checked against the model's range) or def.
func pageSize(maxResults *int32, def int) int {
	if maxResults == nil {
		return def
	}
	return int(*maxResults)
}
