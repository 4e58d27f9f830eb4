package ecs

import (
	"encoding/base64"
	"encoding/json"
	"iter"

	"github.com/berthhq/berth/internal/awsapi"
)

// pageToken is what a nextToken carries: the key of the last item returned.
// It is opaque to clients.
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
		return "", invalidParam("Invalid nextToken specified.")
	}
	return pt.After, nil
}

// pageSize checks maxResults against [1, max] and defaults it to def.
func pageSize(maxResults *int32, max, def int) (int, error) {
	if maxResults == nil {
		return def, nil
	}
	n := int(*maxResults)
	if n < 1 || n > max {
		return 0, &awsapi.Error{Code: "InvalidParameterException", Message: "maxResults must be between 1 and 100."}
	}
	return n, nil
}

// pageArgs checks the maxResults (1..100, default 100) and nextToken of a
// List operation.
func pageArgs(maxResults *int32, nextToken *string) (n int, after string, err error) {
	if n, err = pageSize(maxResults, 100, 100); err != nil {
		return 0, "", err
	}
	after, err = decodeToken(nextToken)
	return n, after, err
}

// paginate takes up to n items from seq; when more remain it returns the
// token that continues after the last one taken.
func paginate[T any](seq iter.Seq[T], n int, key func(T) string) ([]T, *string) {
	var out []T
	var last string
	for v := range seq {
		if len(out) == n {
			return out, encodeToken(last)
		}
		out = append(out, v)
		last = key(v)
	}
	return out, nil
}
