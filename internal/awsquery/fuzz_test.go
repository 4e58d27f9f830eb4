package awsquery_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/awsquery"
)

type fuzzNested struct {
	Name string
	Tags []stsTag
	Self *fuzzNested
	At   *time.Time
	M    map[string]int32
}

// fuzzTarget has a member of every shape Decode supports.
type fuzzTarget struct {
	S    *string
	B    *bool
	I    *int32
	U    uint16
	F    *float64
	F32  float32
	T    *time.Time
	E    []time.Time `query:",timestamp=epoch-seconds"`
	H    *time.Time  `query:",timestamp=http-date"`
	Blob []byte
	L    []string
	Flat []int64  `query:",flat"`
	Item []string `query:",member=item"`
	LS   []fuzzNested
	LP   []*fuzzNested
	LL   [][]string
	M    map[string]string
	MS   map[string]*fuzzNested `query:",key=K,value=V"`
	FM   map[string][]string    `query:",flat"`
	N    *fuzzNested
}

// FuzzDecode feeds arbitrary form bodies to Decode. It must never panic,
// must fail only with a *DecodeError whose message is bounded, and whatever
// it decodes must encode again as well-formed XML. Seeds are in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"Action=X&Version=1&S=a&B=true&I=-3&U=7&F=1.5e3&F32=NaN&T=2026-01-02T03:04:05.123Z",
		"E.member.1=1422172800.5&H=Tue%2C+29+Apr+2014+18%3A30%3A38+GMT&Blob=dmFsdWU%3D",
		"L.member.1=a&L.member.2=b&Flat.1=1&Flat.2=2&Item.item.1=x&L=",
		"LS.member.1.Name=n&LS.member.1.Tags.member.1.Key=k&LS.member.1.Self.Self.Name=deep&LP.member.2.Name=p&LP.member.1.At=2019-12-16T22:48:18-01:00",
		"LL.member.1.member.1=a&LL.member.2=&M.entry.1.key=k&M.entry.1.value=v&MS.entry.1.K=k&MS.entry.1.V.M.entry.1.key=x&MS.entry.1.V.M.entry.1.value=9",
		"FM.1.key=k&FM.1.value.member.1=v&N.Name=x&N.M=",
		"L.member.0=a&L.member.999999999=b&L.member.01=c",
		"N.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Self.Name=x",
		"%zz=1&S=%ff%fe&M.entry.1.value=v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body) // a partial parse is still a form to decode
		var v fuzzTarget
		err := awsquery.Decode(form, &v)
		if err != nil {
			var de *awsquery.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %v; want a *DecodeError", body, err)
			}
			if de.Param == "" || len(de.Message) > 800 || len(de.Param) > 260 {
				t.Fatalf("Decode(%q) = DecodeError{%q, %q}; want a short, non-empty Param and Message", body, de.Param, de.Message)
			}
			if err := wellFormed(awsquery.MarshalError(ns, "id", "ValidationError", de.Message, true)); err != nil {
				t.Fatalf("MarshalError(%q) is not well-formed: %v", de.Message, err)
			}
			return
		}
		b, err := awsquery.Marshal("Fuzz", ns, "id", &v)
		if err != nil {
			t.Fatalf("Marshal(Decode(%q)) = %v", body, err)
		}
		if err := wellFormed(b); err != nil {
			t.Fatalf("Marshal(Decode(%q)) = %q is not well-formed: %v", body, b, err)
		}
	})
}
