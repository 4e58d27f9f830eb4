package logs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pageToken is what the nextToken of DescribeLogGroups and
// DescribeLogStreams carries: where the last page ended. It is opaque to
// clients.
type pageToken struct {
	Name string `json:"n"`
	// Time is the lastEventTimestamp of the last stream, when streams are
	// ordered by it.
	Time int64 `json:"t,omitempty"`
}

func encodePageToken(t pageToken) *string {
	b, _ := json.Marshal(t)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodePageToken(tok *string) (pageToken, error) {
	var t pageToken
	if tok == nil {
		return t, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Name == "" {
		return pageToken{}, errBadToken()
	}
	return t, nil
}

func errBadToken() error { return invalidParam("The specified nextToken is invalid.") }

// A GetLogEvents token is f/ or b/ and 56 digits: the sequence number of
// the position between events it stands for, as AWS's tokens look.
func eventToken(dir byte, seq uint64) *string {
	s := fmt.Sprintf("%c/%056d", dir, seq)
	return &s
}

func parseEventToken(tok string) (dir byte, seq uint64, err error) {
	if len(tok) != 58 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, 0, errBadToken()
	}
	digits := strings.TrimLeft(tok[2:], "0")
	if digits == "" {
		return tok[0], 0, nil
	}
	seq, err = strconv.ParseUint(digits, 10, 64)
	if err != nil || strings.Trim(tok[2:], "0123456789") != "" {
		return 0, 0, errBadToken()
	}
	return tok[0], seq, nil
}

// sequenceToken is what PutLogEvents returns as nextSequenceToken (and
// DescribeLogStreams as uploadSequenceToken). AWS ignores sequence tokens
// now; clients only pass them back.
func sequenceToken(next uint64) *string {
	s := fmt.Sprintf("%056d", next)
	return &s
}

// eventID is a FilterLogEvents eventId: unique in a group and stable, so
// that `aws logs tail --follow` can tell the events it has seen.
func eventID(streamNum, seq uint64) string {
	return fmt.Sprintf("%036d%020d", streamNum, seq)
}
