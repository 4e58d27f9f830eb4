package ecs

import (
	"iter"

	"github.com/berthhq/berth/internal/awsapi"
)

var encodeToken = awsapi.PageToken

func decodeToken(tok *string) (string, error) {
	after, ok := awsapi.PageAfter(tok)
	if !ok {
		return "", invalidParam("Invalid nextToken specified.")
	}
	return after, nil
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
