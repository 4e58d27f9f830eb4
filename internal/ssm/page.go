package ssm

import (
	"github.com/berthhq/berth/internal/awsapi"
)

var errBadToken = &awsapi.Error{Code: "InvalidNextToken", Message: "The specified token isn't valid."}

// encodeToken's position (a canonical name, or a version number) names no
// tenancy: the caller's own is used.
var encodeToken = awsapi.PageToken

func decodeToken(tok *string) (string, error) {
	after, ok := awsapi.PageAfter(tok)
	if !ok {
		return "", errBadToken
	}
	return after, nil
}

// pageSize is MaxResults (already checked against the model's range) or def.
func pageSize(maxResults *int32, def int) int {
	if maxResults == nil {
		return def
	}
	return int(*maxResults)
}
