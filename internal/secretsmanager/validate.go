package secretsmanager

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/awsapi"
)

// The model's length limits.
const (
	maxSecretID    = 2048
	maxName        = 512
	minToken       = 32
	maxToken       = 64
	maxDescription = 2048
	maxKMSKey      = 2048
	maxValue       = 65536
	maxStage       = 256
	maxTagKey      = 128
	maxTagValue    = 256
	maxPolicy      = 20480
	maxNextToken   = 4096
)

// validationErr phrases a violation of the model's constraints as AWS's
// front end does, naming the member by its camelCase path.
func validationErr(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ValidationException", Message: "1 validation error detected: " + fmt.Sprintf(format, args...)}
}

func notNull(member string) *awsapi.Error {
	return validationErr("Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// shown is how a violation quotes the value: sensitive values never.
func shown(v string, sensitive bool) string {
	if sensitive {
		return "'***'"
	}
	return "'" + v + "'"
}

// checkLen checks the length of a string member (in characters, as Smithy
// counts them).
func checkLen(member, v string, minLen, maxLen int, sensitive bool) *awsapi.Error {
	n := utf8.RuneCountInString(v)
	if n < minLen {
		return validationErr("Value %s at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", shown(v, sensitive), member, minLen)
	}
	if n > maxLen {
		return validationErr("Value %s at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", shown(v, sensitive), member, maxLen)
	}
	return nil
}

// optLen is checkLen for an optional member.
func optLen(member string, v *string, minLen, maxLen int, sensitive bool) *awsapi.Error {
	if v == nil {
		return nil
	}
	return checkLen(member, *v, minLen, maxLen, sensitive)
}

// reqLen is checkLen for a required member.
func reqLen(member string, v *string, minLen, maxLen int) *awsapi.Error {
	if v == nil {
		return notNull(member)
	}
	return checkLen(member, *v, minLen, maxLen, false)
}

func checkBlob(member string, b []byte) *awsapi.Error {
	if b == nil {
		return nil
	}
	if len(b) < 1 {
		return validationErr("Value '***' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", member)
	}
	if len(b) > maxValue {
		return validationErr("Value '***' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", member, maxValue)
	}
	return nil
}

func checkRange(member string, v *int64, minV, maxV int64) *awsapi.Error {
	if v == nil {
		return nil
	}
	if *v < minV {
		return validationErr("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *v, member, minV)
	}
	if *v > maxV {
		return validationErr("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *v, member, maxV)
	}
	return nil
}

func checkEnum(member, v string, allowed ...string) *awsapi.Error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return validationErr("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", v, member, strings.Join(allowed, ", "))
}

// firstErr returns the first violation found, or nil.
func firstErr(errs ...*awsapi.Error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// validName reports whether s is made of the characters AWS allows in a
// secret name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.ContainsRune("/_+=.@!-", c):
		default:
			return false
		}
	}
	return true
}

func errInvalidName() *awsapi.Error {
	return &awsapi.Error{Code: "ValidationException", Message: "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"}
}

// checkSecretID checks a SecretId: a name or an ARN.
func checkSecretID(member string, id *string) *awsapi.Error {
	if err := reqLen(member, id, 1, maxSecretID); err != nil {
		return err
	}
	if !strings.HasPrefix(*id, "arn:") && !validName(*id) {
		return errInvalidName()
	}
	return nil
}

// checkToken checks an optional ClientRequestToken.
func checkToken(tok *string) *awsapi.Error {
	return optLen("clientRequestToken", tok, minToken, maxToken, false)
}

// checkValues checks the SecretString and SecretBinary of a request.
func checkValues(str *string, bin []byte) *awsapi.Error {
	if err := optLen("secretString", str, 1, maxValue, true); err != nil {
		return err
	}
	if err := checkBlob("secretBinary", bin); err != nil {
		return err
	}
	if str != nil && bin != nil {
		return invalidParam(msgBothValues)
	}
	return nil
}

// checkTags checks a list of tags.
func checkTags(member string, tags []Tag) *awsapi.Error {
	for i, t := range tags {
		path := fmt.Sprintf("%s.%d.member", member, i+1)
		if err := reqLen(path+".key", t.Key, 1, maxTagKey); err != nil {
			return err
		}
		if err := optLen(path+".value", t.Value, 0, maxTagValue, false); err != nil {
			return err
		}
	}
	return nil
}

// checkStages checks a list of staging labels.
func checkStages(member string, stages []string) *awsapi.Error {
	if stages == nil {
		return nil
	}
	if len(stages) < 1 || len(stages) > maxStages {
		return validationErr("Value '[%s]' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", strings.Join(stages, ", "), member, maxStages)
	}
	for _, s := range stages {
		if err := checkLen(member+".member", s, 1, maxStage, false); err != nil {
			return err
		}
	}
	return nil
}
