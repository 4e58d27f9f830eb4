package secretsmanager_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

func TestGetRandomPassword(t *testing.T) {
	t.Parallel()
	e := start(t)
	classes := map[string]string{"lower": "abcdefghijklmnopqrstuvwxyz", "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "digit": "0123456789", "punct": punctuation}
	has := func(pw, set string) bool { return strings.ContainsAny(pw, set) }
	tests := []struct {
		name    string
		in      *sm.GetRandomPasswordInput
		length  int
		want    []string // classes that must appear
		notWant []string // classes that must not
		never   string   // characters that must not appear
	}{
		{"defaults", &sm.GetRandomPasswordInput{}, 32, []string{"lower", "upper", "digit", "punct"}, nil, " "},
		{"no punctuation", &sm.GetRandomPasswordInput{ExcludePunctuation: aws.Bool(true), PasswordLength: aws.Int64(20)}, 20, []string{"lower", "upper", "digit"}, []string{"punct"}, " "},
		{"digits only", &sm.GetRandomPasswordInput{ExcludeLowercase: aws.Bool(true), ExcludeUppercase: aws.Bool(true), ExcludePunctuation: aws.Bool(true), PasswordLength: aws.Int64(64)}, 64, []string{"digit"}, []string{"lower", "upper", "punct"}, ""},
		{"excluded characters", &sm.GetRandomPasswordInput{ExcludeCharacters: aws.String("0123456789abcdef\"'\\"), PasswordLength: aws.Int64(4096)}, 4096, []string{"lower", "upper", "punct"}, []string{"digit"}, "abcdef\"'\\"},
		{"one character", &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(1), RequireEachIncludedType: aws.Bool(false)}, 1, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.c.GetRandomPassword(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			pw := aws.ToString(out.RandomPassword)
			if len(pw) != tt.length {
				t.Errorf("GetRandomPassword(%s) length = %d; want %d", tt.name, len(pw), tt.length)
			}
			for _, c := range tt.want {
				if !has(pw, classes[c]) {
					t.Errorf("GetRandomPassword(%s) = %q; want a %s character", tt.name, pw, c)
				}
			}
			for _, c := range tt.notWant {
				if has(pw, classes[c]) {
					t.Errorf("GetRandomPassword(%s) = %q; want no %s character", tt.name, pw, c)
				}
			}
			if tt.never != "" && has(pw, tt.never) {
				t.Errorf("GetRandomPassword(%s) = %q; want none of %q", tt.name, pw, tt.never)
			}
		})
	}
	a, _ := e.c.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{})
	b, _ := e.c.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{})
	if aws.ToString(a.RandomPassword) == aws.ToString(b.RandomPassword) {
		t.Errorf("GetRandomPassword() twice = %q both times; want random passwords", aws.ToString(a.RandomPassword))
	}
	if out, _ := e.c.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{IncludeSpace: aws.Bool(true), PasswordLength: aws.Int64(4096)}); !strings.Contains(aws.ToString(out.RandomPassword), " ") {
		t.Errorf("GetRandomPassword(IncludeSpace, 4096) has no space; want spaces among the characters")
	}

	bad := []struct {
		name      string
		in        *sm.GetRandomPasswordInput
		code, msg string
	}{
		{"too long", &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(4097)}, "ValidationException", "1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096"},
		{"zero", &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(0)}, "ValidationException", "1 validation error detected: Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"shorter than the types", &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(3)}, "InvalidParameterException", "Password length is too short based on the required types."},
		{"nothing left", &sm.GetRandomPasswordInput{ExcludeLowercase: aws.Bool(true), ExcludeUppercase: aws.Bool(true), ExcludeNumbers: aws.Bool(true), ExcludePunctuation: aws.Bool(true)}, "InvalidParameterException", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.GetRandomPassword(ctx, tt.in)
			wantError(t, "GetRandomPassword("+tt.name+")", err, tt.code, tt.msg)
		})
	}
}
