package ecr

import (
	"fmt"

	"github.com/berthhq/berth/internal/awsapi"
)

var encodeToken = awsapi.PageToken

func decodeToken(tok *string) (string, error) {
	after, ok := awsapi.PageAfter(tok)
	if !ok {
		return "", invalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'")
	}
	return after, nil
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
