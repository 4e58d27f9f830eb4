package secretsmanager

import (
	"context"
	"crypto/rand"
	"math/big"
	"strings"
)

// The character types of GetRandomPassword; punctuation is the set AWS
// documents for ExcludePunctuation.
const (
	lowercase   = "abcdefghijklmnopqrstuvwxyz"
	uppercase   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits      = "0123456789"
	punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

type GetRandomPasswordInput struct {
	PasswordLength          *int64  `json:"PasswordLength"`
	ExcludeCharacters       *string `json:"ExcludeCharacters"`
	ExcludeNumbers          *bool   `json:"ExcludeNumbers"`
	ExcludePunctuation      *bool   `json:"ExcludePunctuation"`
	ExcludeUppercase        *bool   `json:"ExcludeUppercase"`
	ExcludeLowercase        *bool   `json:"ExcludeLowercase"`
	IncludeSpace            *bool   `json:"IncludeSpace"`
	RequireEachIncludedType *bool   `json:"RequireEachIncludedType"`
}

type GetRandomPasswordOutput struct {
	RandomPassword string `json:"RandomPassword"`
}

func flag(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// GetRandomPassword returns a password drawn with crypto/rand: 32
// characters by default, from the types not excluded, with at least one of
// each included type unless RequireEachIncludedType is false.
func (a *API) GetRandomPassword(_ context.Context, in *GetRandomPasswordInput) (*GetRandomPasswordOutput, error) {
	if err := firstErr(
		checkRange("passwordLength", in.PasswordLength, 1, 4096),
		optLen("excludeCharacters", in.ExcludeCharacters, 0, 4096, false),
	); err != nil {
		return nil, err
	}
	length := 32
	if in.PasswordLength != nil {
		length = int(*in.PasswordLength)
	}
	exclude := deref(in.ExcludeCharacters)
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(exclude, r) {
				return -1
			}
			return r
		}, set)
	}
	var types []string
	if !flag(in.ExcludeLowercase, false) {
		types = append(types, keep(lowercase))
	}
	if !flag(in.ExcludeUppercase, false) {
		types = append(types, keep(uppercase))
	}
	if !flag(in.ExcludeNumbers, false) {
		types = append(types, keep(digits))
	}
	if !flag(in.ExcludePunctuation, false) {
		types = append(types, keep(punctuation))
	}
	var all strings.Builder
	var required []string
	for _, t := range types {
		if t != "" {
			all.WriteString(t)
			required = append(required, t)
		}
	}
	if flag(in.IncludeSpace, false) {
		all.WriteString(keep(" "))
	}
	pool := all.String()
	if pool == "" {
		return nil, invalidParam("The password can't be generated: every character is excluded.")
	}
	if !flag(in.RequireEachIncludedType, true) {
		required = nil
	}
	if length < len(required) {
		return nil, invalidParam("Password length is too short based on the required types.")
	}
	pw := make([]byte, 0, length)
	for _, t := range required {
		pw = append(pw, t[randN(len(t))])
	}
	for len(pw) < length {
		pw = append(pw, pool[randN(len(pool))])
	}
	// Shuffle (Fisher-Yates) so the required characters are anywhere.
	for i := len(pw) - 1; i > 0; i-- {
		j := randN(i + 1)
		pw[i], pw[j] = pw[j], pw[i]
	}
	return &GetRandomPasswordOutput{RandomPassword: string(pw)}, nil
}

// randN is a uniform random int in [0, n) from crypto/rand.
func randN(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return int(v.Int64())
}
