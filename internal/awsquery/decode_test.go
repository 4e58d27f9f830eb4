package awsquery_test

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/awsquery"
)

func ptr[T any](v T) *T { return &v }

// The types below mirror the input shapes of the Smithy awsQuery protocol
// tests (smithy-aws-protocol-tests/model/awsQuery/input*.smithy).

type fooEnum string

type integerEnum int32

// simpleInputParams mirrors SimpleInputParamsInput (input.smithy).
type simpleInputParams struct {
	Foo         *string
	Bar         *string
	Baz         *bool
	Bam         *int32
	FloatValue  *float32
	Boo         *float64
	Qux         []byte
	FooEnum     *fooEnum
	IntegerEnum *integerEnum
}

// queryTimestamps mirrors QueryTimestampsInput (input.smithy).
type queryTimestamps struct {
	NormalFormat *time.Time `query:"normalFormat"`
	EpochMember  *time.Time `query:"epochMember,timestamp=epoch-seconds"`
	EpochTarget  *time.Time `query:"epochTarget,timestamp=epoch-seconds"`
}

// structArg mirrors the recursive StructArg (input.smithy).
type structArg struct {
	StringArg    *string
	OtherArg     *bool
	RecursiveArg *structArg
}

type nestedStructures struct {
	Nested *structArg
}

type greetingStruct struct {
	Hi *string `query:"hi"`
}

// queryLists mirrors QueryListsInput (input-lists.smithy).
type queryLists struct {
	ListArg                     []string
	ComplexListArg              []greetingStruct
	FlattenedListArg            []string `query:",flat"`
	ListArgWithXmlNameMember    []string `query:",member=item"`
	FlattenedListArgWithXmlName []string `query:"Hi,flat"`
	NestedWithList              *struct{ ListArg []string }
}

// queryMaps mirrors QueryMapsInput (input-maps.smithy).
type queryMaps struct {
	MapArg                  map[string]string
	RenamedMapArg           map[string]string `query:"Foo"`
	ComplexMapArg           map[string]greetingStruct
	MapWithXmlMemberName    map[string]string `query:",key=K,value=V"`
	FlattenedMap            map[string]string `query:",flat"`
	FlattenedMapWithXmlName map[string]string `query:"Hi,flat,key=K,value=V"`
	MapOfLists              map[string][]string
	NestedStructWithMap     *struct{ MapArg map[string]string }
}

// Shapes beyond the Smithy tests.

type tag struct {
	Key   string
	Value *string
}

type base struct {
	Marker   *string
	MaxItems *int32
}

type extras struct {
	base                 // untagged embedded struct: promoted members
	Tags     []tag       //
	PtrTags  []*tag      // pointer elements are always allocated
	Nested   [][]string  // lists of lists
	Ints     []int64     //
	Stamps   []time.Time //
	Epochs   []time.Time `query:",timestamp=epoch-seconds"`
	HTTPDate *time.Time  `query:",timestamp=http-date"`
	Plain    time.Time   // a non-pointer timestamp
	Count    int         //
	Small    *uint8      //
	Ratio    float64     //
	Renamed  string      `query:"other-name"`
	Ignored  string      `query:"-"`
	//lint:ignore U1000 present to show unexported fields are skipped
	unexported    string
	StructMap     map[string]*tag     //
	FlatStructs   []tag               `query:"Flat,flat"`
	NamedMapKeys  map[fooEnum]fooEnum //
	OptionalBlob  *[]byte             //
	OptionalSlice *[]string           //
	DeepMap       map[string]map[string]string
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string // the Smithy test id where the case mirrors one
		body string
		into any // a pointer to a zero value of the target type
		want any
	}{
		// input.smithy
		{"QuerySimpleInputParamsStrings", "Action=SimpleInputParams&Version=2020-01-08&Foo=val1&Bar=val2",
			&simpleInputParams{}, &simpleInputParams{Foo: ptr("val1"), Bar: ptr("val2")}},
		{"QuerySimpleInputParamsStringAndBooleanTrue", "Action=SimpleInputParams&Version=2020-01-08&Foo=val1&Baz=true",
			&simpleInputParams{}, &simpleInputParams{Foo: ptr("val1"), Baz: ptr(true)}},
		{"QuerySimpleInputParamsStringsAndBooleanFalse", "Action=SimpleInputParams&Version=2020-01-08&Baz=false",
			&simpleInputParams{}, &simpleInputParams{Baz: ptr(false)}},
		{"QuerySimpleInputParamsInteger", "Action=SimpleInputParams&Version=2020-01-08&Bam=10",
			&simpleInputParams{}, &simpleInputParams{Bam: ptr[int32](10)}},
		{"QuerySimpleInputParamsFloat", "Action=SimpleInputParams&Version=2020-01-08&Boo=10.8",
			&simpleInputParams{}, &simpleInputParams{Boo: ptr(10.8)}},
		{"QuerySimpleInputParamsBlob", "Action=SimpleInputParams&Version=2020-01-08&Qux=dmFsdWU%3D",
			&simpleInputParams{}, &simpleInputParams{Qux: []byte("value")}},
		{"QueryEnums", "Action=SimpleInputParams&Version=2020-01-08&FooEnum=Foo",
			&simpleInputParams{}, &simpleInputParams{FooEnum: ptr[fooEnum]("Foo")}},
		{"QueryIntEnums", "Action=SimpleInputParams&Version=2020-01-08&IntegerEnum=1",
			&simpleInputParams{}, &simpleInputParams{IntegerEnum: ptr[integerEnum](1)}},
		{"AwsQuerySupportsInfinityFloatInputs", "Action=SimpleInputParams&Version=2020-01-08&FloatValue=Infinity&Boo=Infinity",
			&simpleInputParams{}, &simpleInputParams{FloatValue: ptr(float32(math.Inf(1))), Boo: ptr(math.Inf(1))}},
		{"AwsQuerySupportsNegativeInfinityFloatInputs", "Action=SimpleInputParams&Version=2020-01-08&FloatValue=-Infinity&Boo=-Infinity",
			&simpleInputParams{}, &simpleInputParams{FloatValue: ptr(float32(math.Inf(-1))), Boo: ptr(math.Inf(-1))}},
		// AwsQuerySupportsNaNFloatInputs is TestDecodeNaN: NaN != NaN for reflect.DeepEqual.
		{"QueryTimestampsInput", "Action=QueryTimestamps&Version=2020-01-08&normalFormat=2015-01-25T08%3A00%3A00Z&epochMember=1422172800&epochTarget=1422172800",
			&queryTimestamps{}, &queryTimestamps{
				NormalFormat: ptr(time.Unix(1422172800, 0).UTC()),
				EpochMember:  ptr(time.Unix(1422172800, 0).UTC()),
				EpochTarget:  ptr(time.Unix(1422172800, 0).UTC()),
			}},
		{"NestedStructures", "Action=NestedStructures&Version=2020-01-08&Nested.StringArg=foo&Nested.OtherArg=true&Nested.RecursiveArg.StringArg=baz",
			&nestedStructures{}, &nestedStructures{Nested: &structArg{
				StringArg: ptr("foo"), OtherArg: ptr(true), RecursiveArg: &structArg{StringArg: ptr("baz")},
			}}},
		{"QueryProtocolIdempotencyTokenAutoFillIsSet", "Action=QueryIdempotencyTokenAutoFill&Version=2020-01-08&token=00000000-0000-4000-8000-000000000123",
			&struct {
				Token *string `query:"token"`
			}{}, &struct {
				Token *string `query:"token"`
			}{ptr("00000000-0000-4000-8000-000000000123")}},

		// empty-input-output.smithy
		{"QueryNoInputAndOutput", "Action=NoInputAndOutput&Version=2020-01-08", &struct{}{}, &struct{}{}},
		{"QueryEmptyInputAndEmptyOutput", "Action=EmptyInputAndEmptyOutput&Version=2020-01-08", &queryLists{}, &queryLists{}},

		// input-lists.smithy
		{"QueryLists", "Action=QueryLists&Version=2020-01-08&ListArg.member.1=foo&ListArg.member.2=bar&ListArg.member.3=baz&ComplexListArg.member.1.hi=hello&ComplexListArg.member.2.hi=hola",
			&queryLists{}, &queryLists{
				ListArg:        []string{"foo", "bar", "baz"},
				ComplexListArg: []greetingStruct{{Hi: ptr("hello")}, {Hi: ptr("hola")}},
			}},
		{"EmptyQueryLists", "Action=QueryLists&Version=2020-01-08&ListArg=",
			&queryLists{}, &queryLists{ListArg: []string{}}},
		{"FlattenedQueryLists", "Action=QueryLists&Version=2020-01-08&FlattenedListArg.1=A&FlattenedListArg.2=B",
			&queryLists{}, &queryLists{FlattenedListArg: []string{"A", "B"}}},
		{"QueryListArgWithXmlNameMember", "Action=QueryLists&Version=2020-01-08&ListArgWithXmlNameMember.item.1=A&ListArgWithXmlNameMember.item.2=B",
			&queryLists{}, &queryLists{ListArgWithXmlNameMember: []string{"A", "B"}}},
		{"QueryFlattenedListArgWithXmlName", "Action=QueryLists&Version=2020-01-08&Hi.1=A&Hi.2=B",
			&queryLists{}, &queryLists{FlattenedListArgWithXmlName: []string{"A", "B"}}},
		{"QueryNestedStructWithList", "Action=QueryLists&Version=2020-01-08&NestedWithList.ListArg.member.1=A&NestedWithList.ListArg.member.2=B",
			&queryLists{}, &queryLists{NestedWithList: &struct{ ListArg []string }{[]string{"A", "B"}}}},

		// input-maps.smithy
		{"QuerySimpleQueryMaps", "Action=QueryMaps&Version=2020-01-08&MapArg.entry.1.key=bar&MapArg.entry.1.value=Bar&MapArg.entry.2.key=foo&MapArg.entry.2.value=Foo",
			&queryMaps{}, &queryMaps{MapArg: map[string]string{"bar": "Bar", "foo": "Foo"}}},
		{"QuerySimpleQueryMapsWithXmlName", "Action=QueryMaps&Version=2020-01-08&Foo.entry.1.key=foo&Foo.entry.1.value=Foo",
			&queryMaps{}, &queryMaps{RenamedMapArg: map[string]string{"foo": "Foo"}}},
		{"QueryComplexQueryMaps", "Action=QueryMaps&Version=2020-01-08&ComplexMapArg.entry.1.key=bar&ComplexMapArg.entry.1.value.hi=Bar&ComplexMapArg.entry.2.key=foo&ComplexMapArg.entry.2.value.hi=Foo",
			&queryMaps{}, &queryMaps{ComplexMapArg: map[string]greetingStruct{"bar": {Hi: ptr("Bar")}, "foo": {Hi: ptr("Foo")}}}},
		{"QueryEmptyQueryMaps", "Action=QueryMaps&Version=2020-01-08", &queryMaps{}, &queryMaps{}},
		{"QueryQueryMapWithMemberXmlName", "Action=QueryMaps&Version=2020-01-08&MapWithXmlMemberName.entry.1.K=bar&MapWithXmlMemberName.entry.1.V=Bar&MapWithXmlMemberName.entry.2.K=foo&MapWithXmlMemberName.entry.2.V=Foo",
			&queryMaps{}, &queryMaps{MapWithXmlMemberName: map[string]string{"bar": "Bar", "foo": "Foo"}}},
		{"QueryFlattenedQueryMaps", "Action=QueryMaps&Version=2020-01-08&FlattenedMap.1.key=bar&FlattenedMap.1.value=Bar&FlattenedMap.2.key=foo&FlattenedMap.2.value=Foo",
			&queryMaps{}, &queryMaps{FlattenedMap: map[string]string{"bar": "Bar", "foo": "Foo"}}},
		{"QueryFlattenedQueryMapsWithXmlName", "Action=QueryMaps&Version=2020-01-08&Hi.1.K=bar&Hi.1.V=Bar&Hi.2.K=foo&Hi.2.V=Foo",
			&queryMaps{}, &queryMaps{FlattenedMapWithXmlName: map[string]string{"bar": "Bar", "foo": "Foo"}}},
		{"QueryQueryMapOfLists", "Action=QueryMaps&Version=2020-01-08&MapOfLists.entry.1.key=bar&MapOfLists.entry.1.value.member.1=C&MapOfLists.entry.1.value.member.2=D&MapOfLists.entry.2.key=foo&MapOfLists.entry.2.value.member.1=A&MapOfLists.entry.2.value.member.2=B",
			&queryMaps{}, &queryMaps{MapOfLists: map[string][]string{"bar": {"C", "D"}, "foo": {"A", "B"}}}},
		{"QueryNestedStructWithMap", "Action=QueryMaps&Version=2020-01-08&NestedStructWithMap.MapArg.entry.1.key=bar&NestedStructWithMap.MapArg.entry.1.value=Bar&NestedStructWithMap.MapArg.entry.2.key=foo&NestedStructWithMap.MapArg.entry.2.value=Foo",
			&queryMaps{}, &queryMaps{NestedStructWithMap: &struct{ MapArg map[string]string }{map[string]string{"bar": "Bar", "foo": "Foo"}}}},

		// Beyond the Smithy tests.
		{"empty map is present and empty", "MapArg=", &queryMaps{}, &queryMaps{MapArg: map[string]string{}}},
		{"map entry without value gets the zero value", "MapArg.entry.1.key=k", &queryMaps{}, &queryMaps{MapArg: map[string]string{"k": ""}}},
		{"later map entry with the same key wins", "MapArg.entry.1.key=k&MapArg.entry.1.value=a&MapArg.entry.2.key=k&MapArg.entry.2.value=b",
			&queryMaps{}, &queryMaps{MapArg: map[string]string{"k": "b"}}},
		{"empty flattened list", "FlattenedListArg=", &queryLists{}, &queryLists{FlattenedListArg: []string{}}},
		{"members may come in any order", "ListArg.member.3=c&ListArg.member.1=a&ListArg.member.2=b",
			&queryLists{}, &queryLists{ListArg: []string{"a", "b", "c"}}},
		{"empty string value", "Foo=", &simpleInputParams{}, &simpleInputParams{Foo: ptr("")}},
		{"empty blob", "Qux=", &simpleInputParams{}, &simpleInputParams{Qux: []byte{}}},
		{"first of repeated keys wins", "Foo=a&Foo=b", &simpleInputParams{}, &simpleInputParams{Foo: ptr("a")}},
		{"booleans ignore case", "Baz=TRUE", &simpleInputParams{}, &simpleInputParams{Baz: ptr(true)}},
		{"unknown, Action and Version keys are ignored", "Action=X&Version=1&Nope=1&Foo.Bar=2&Nested.Nope=3&Nested.StringArg.Deeper=4",
			&nestedStructures{}, &nestedStructures{Nested: &structArg{}}},
		{"optional struct stays nil without keys under it", "StringArg=x", &nestedStructures{}, &nestedStructures{}},
		{"scalar ignores deeper keys", "Bam.member.1=1", &simpleInputParams{}, &simpleInputParams{}},
		{"exponent floats", "Boo=1e-07&FloatValue=-2.5E3", &simpleInputParams{}, &simpleInputParams{Boo: ptr(1e-7), FloatValue: ptr[float32](-2500)}},
		{"timestamp with fractional seconds (AwsQueryDateTimeWithFractionalSeconds)", "normalFormat=2000-01-02T20:34:56.123Z",
			&queryTimestamps{}, &queryTimestamps{NormalFormat: ptr(time.UnixMilli(946845296123).UTC())}},
		{"timestamp with negative offset (AwsQueryDateTimeWithNegativeOffset)", "normalFormat=2019-12-16T22:48:18-01:00",
			&queryTimestamps{}, &queryTimestamps{NormalFormat: ptr(time.Unix(1576540098, 0).UTC())}},
		{"timestamp with positive offset (AwsQueryDateTimeWithPositiveOffset)", "normalFormat=2019-12-17T00:48:18%2B01:00",
			&queryTimestamps{}, &queryTimestamps{NormalFormat: ptr(time.Unix(1576540098, 0).UTC())}},
		{"timestamp without zone is UTC", "normalFormat=2019-12-16T23:48:18",
			&queryTimestamps{}, &queryTimestamps{NormalFormat: ptr(time.Unix(1576540098, 0).UTC())}},
		{"fractional epoch seconds", "epochMember=1422172800.5",
			&queryTimestamps{}, &queryTimestamps{EpochMember: ptr(time.UnixMilli(1422172800500).UTC())}},
		{"embedded, lists of structs, nested lists, maps of structs",
			"Marker=m&MaxItems=5" +
				"&Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2" +
				"&PtrTags.member.1.Key=p&PtrTags.member.2.Nope=x" +
				"&Nested.member.1.member.1=a&Nested.member.1.member.2=b&Nested.member.2=" +
				"&Ints.member.1=-9223372036854775808&Stamps.member.1=2026-01-02T03:04:05.000Z&Epochs.member.1=0" +
				"&HTTPDate=Tue%2C+29+Apr+2014+18%3A30%3A38+GMT&Plain=2026-01-02T03:04:05Z&Count=-1&Small=255&Ratio=0.5" +
				"&other-name=r&Ignored=no&unexported=no" +
				"&StructMap.entry.1.key=s&StructMap.entry.1.value.Key=sk&StructMap.entry.2.key=t" +
				"&Flat.1.Key=f1&Flat.2.Key=f2" +
				"&NamedMapKeys.entry.1.key=a&NamedMapKeys.entry.1.value=b" +
				"&OptionalBlob=AA%3D%3D&OptionalSlice.member.1=x" +
				"&DeepMap.entry.1.key=outer&DeepMap.entry.1.value.entry.1.key=inner&DeepMap.entry.1.value.entry.1.value=v",
			&extras{}, &extras{
				base:          base{Marker: ptr("m"), MaxItems: ptr[int32](5)},
				Tags:          []tag{{Key: "k1", Value: ptr("v1")}, {Key: "k2"}},
				PtrTags:       []*tag{{Key: "p"}, {}},
				Nested:        [][]string{{"a", "b"}, {}},
				Ints:          []int64{math.MinInt64},
				Stamps:        []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
				Epochs:        []time.Time{time.Unix(0, 0).UTC()},
				HTTPDate:      ptr(time.Unix(1398796238, 0).UTC()),
				Plain:         time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
				Count:         -1,
				Small:         ptr[uint8](255),
				Ratio:         0.5,
				Renamed:       "r",
				StructMap:     map[string]*tag{"s": {Key: "sk"}, "t": {}},
				FlatStructs:   []tag{{Key: "f1"}, {Key: "f2"}},
				NamedMapKeys:  map[fooEnum]fooEnum{"a": "b"},
				OptionalBlob:  ptr([]byte{0}),
				OptionalSlice: ptr([]string{"x"}),
				DeepMap:       map[string]map[string]string{"outer": {"inner": "v"}},
			}},
		{"list of exactly MaxListMembers", manyMembers("ListArg.member", awsquery.MaxListMembers),
			&queryLists{}, &queryLists{ListArg: make([]string, awsquery.MaxListMembers)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := url.ParseQuery(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if err := awsquery.Decode(form, tt.into); err != nil {
				t.Fatalf("Decode(%q) = %v; want nil", tt.body, err)
			}
			if !reflect.DeepEqual(tt.into, tt.want) {
				t.Errorf("Decode(%q) = %+v; want %+v", clip(tt.body), tt.into, tt.want)
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// manyMembers returns prefix.1= ... prefix.n=, all empty values.
func manyMembers(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "%s.%d=", prefix, i)
	}
	return b.String()
}

// TestDecodeNaN mirrors AwsQuerySupportsNaNFloatInputs.
func TestDecodeNaN(t *testing.T) {
	form, _ := url.ParseQuery("Action=SimpleInputParams&Version=2020-01-08&FloatValue=NaN&Boo=NaN")
	var got simpleInputParams
	if err := awsquery.Decode(form, &got); err != nil {
		t.Fatal(err)
	}
	if got.FloatValue == nil || !math.IsNaN(float64(*got.FloatValue)) || got.Boo == nil || !math.IsNaN(*got.Boo) {
		t.Errorf("Decode(FloatValue=NaN&Boo=NaN) = %v, %v; want NaN, NaN", got.FloatValue, got.Boo)
	}
}

type assumeRoleLike struct {
	DurationSeconds *int32
	Items           []struct{ N int32 }
}

func TestDecodeErrors(t *testing.T) {
	deep := "Nested." + strings.Repeat("RecursiveArg.", 40) + "StringArg=x"
	tests := []struct {
		body      string
		into      any
		wantParam string
		wantMsg   string // the whole message when it ends in ".", else a prefix
	}{
		{"DurationSeconds=abc", &assumeRoleLike{}, "DurationSeconds",
			"Value 'abc' for parameter DurationSeconds is invalid. It must be an integer from -2147483648 to 2147483647."},
		{"DurationSeconds=2147483648", &assumeRoleLike{}, "DurationSeconds", "Value '2147483648' for parameter DurationSeconds is invalid"},
		{"DurationSeconds=0x10", &assumeRoleLike{}, "DurationSeconds", "Value '0x10' for parameter DurationSeconds is invalid"},
		{"DurationSeconds=", &assumeRoleLike{}, "DurationSeconds", "Value '' for parameter DurationSeconds is invalid"},
		{"Items.member.1.N=1&Items.member.2.N=x", &assumeRoleLike{}, "Items.member.2.N", "Value 'x' for parameter Items.member.2.N is invalid"},
		{"Baz=yes", &simpleInputParams{}, "Baz", "Value 'yes' for parameter Baz is invalid. It must be true or false."},
		{"Boo=0x1p-2", &simpleInputParams{}, "Boo", "Value '0x1p-2' for parameter Boo is invalid. It must be a number."},
		{"Boo=inf", &simpleInputParams{}, "Boo", "Value 'inf' for parameter Boo is invalid"},
		{"Boo=1_000", &simpleInputParams{}, "Boo", "Value '1_000' for parameter Boo is invalid"},
		{"FloatValue=1e39", &simpleInputParams{}, "FloatValue", "Value '1e39' for parameter FloatValue is invalid"},
		{"Qux=!!!", &simpleInputParams{}, "Qux", "Value '!!!' for parameter Qux is invalid. It must be base64-encoded."},
		{"Small=-1", &extras{}, "Small", "Value '-1' for parameter Small is invalid"},
		{"normalFormat=yesterday", &queryTimestamps{}, "normalFormat",
			"Value 'yesterday' for parameter normalFormat is invalid. It must be an ISO 8601 timestamp such as 2014-04-29T18:30:38Z."},
		{"epochMember=NaN", &queryTimestamps{}, "epochMember", "Value 'NaN' for parameter epochMember is invalid"},
		{"epochMember=1e300", &queryTimestamps{}, "epochMember", "Value '1e300' for parameter epochMember is invalid"},
		{"ListArg.member.0=a", &queryLists{}, "ListArg.member.0", "Parameter ListArg.member.0 has an invalid index"},
		{"ListArg.member.1=a&ListArg.member.3=c", &queryLists{}, "ListArg.member.3", "Parameter ListArg.member.3 has an invalid index"},
		{"ListArg.member.999999999=x", &queryLists{}, "ListArg.member.999999999", "Parameter ListArg.member.999999999 has an invalid index"},
		{"ListArg.member.70=a&ListArg.member.9=b&ListArg.member.10=c&ListArg.member.x=d", &queryLists{}, "ListArg.member.9", "Parameter ListArg.member.9 has an invalid index"},
		{"Nested.A" + strings.Repeat(".x", 40) + "=1&" + deep, &nestedStructures{}, "Nested.A" + strings.Repeat(".x", 40),
			"Parameter Nested.A" + strings.Repeat(".x", 40) + " is nested too deeply."},
		{"ListArg.member.01=a", &queryLists{}, "ListArg.member.01", "Parameter ListArg.member.01 has an invalid index"},
		{"ListArg.member.x=a", &queryLists{}, "ListArg.member.x", "Parameter ListArg.member.x has an invalid index"},
		{"ListArg.member.=a", &queryLists{}, "ListArg.member.", "Parameter ListArg.member. has an invalid index"},
		{"ListArg.member=a", &queryLists{}, "ListArg.member", "Parameter ListArg.member has an invalid index"},
		{"ListArg.member.-1=a", &queryLists{}, "ListArg.member.-1", "Parameter ListArg.member.-1 has an invalid index"},
		{"FlattenedListArg.0=a", &queryLists{}, "FlattenedListArg.0", "Parameter FlattenedListArg.0 has an invalid index"},
		{"Hi.2=a", &queryLists{}, "Hi.2", "Parameter Hi.2 has an invalid index"},
		{"ListArg=abc", &queryLists{}, "ListArg", "Value 'abc' for parameter ListArg is invalid. A list or map takes members, not a value."},
		{"ListArg=abc&ListArg.member.1=a", &queryLists{}, "ListArg", "Value 'abc' for parameter ListArg is invalid"},
		{"MapArg=abc", &queryMaps{}, "MapArg", "Value 'abc' for parameter MapArg is invalid"},
		{manyMembers("ListArg.member", awsquery.MaxListMembers+1), &queryLists{}, "ListArg.member", "Parameter ListArg.member has more than 1000 members."},
		{"MapArg.entry.1.value=x", &queryMaps{}, "MapArg.entry.1.key", "Parameter MapArg.entry.1.key is missing: every map entry needs a key."},
		{"MapArg.entry.2.key=a&MapArg.entry.2.value=b", &queryMaps{}, "MapArg.entry.2", "Parameter MapArg.entry.2 has an invalid index"},
		{"MapArg.entry=x", &queryMaps{}, "MapArg.entry", "Parameter MapArg.entry has an invalid index"},
		{"FlattenedMap.0.key=a", &queryMaps{}, "FlattenedMap.0", "Parameter FlattenedMap.0 has an invalid index"},
		{"MapOfLists.entry.1.key=k&MapOfLists.entry.1.value.member.2=x", &queryMaps{}, "MapOfLists.entry.1.value.member.2",
			"Parameter MapOfLists.entry.1.value.member.2 has an invalid index"},
		{"ComplexListArg.member.1.hi=a&ComplexListArg.member.3.hi=b", &queryLists{}, "ComplexListArg.member.3", "Parameter ComplexListArg.member.3 has an invalid index"},
		{deep, &nestedStructures{}, deep[:256] + "...", "Parameter " + deep[:256] + "... is nested too deeply."},
		{"ListArg.member." + strings.Repeat("9", 300) + "=x", &queryLists{}, "ListArg.member." + strings.Repeat("9", 241) + "...", "Parameter ListArg.member.999"},
		{"Foo=" + strings.Repeat("x", 100) + "&Bam=" + strings.Repeat("9", 100), &simpleInputParams{}, "Bam",
			"Value '" + strings.Repeat("9", 64) + "...' for parameter Bam is invalid"},
	}
	for _, tt := range tests {
		t.Run(clip(tt.body), func(t *testing.T) {
			form, err := url.ParseQuery(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			err = awsquery.Decode(form, tt.into)
			var de *awsquery.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %v; want a *DecodeError", clip(tt.body), err)
			}
			if de.Param != tt.wantParam {
				t.Errorf("Decode(%q).Param = %q; want %q", clip(tt.body), de.Param, tt.wantParam)
			}
			if strings.HasSuffix(tt.wantMsg, ".") && de.Message != tt.wantMsg ||
				!strings.HasPrefix(de.Message, tt.wantMsg) {
				t.Errorf("Decode(%q).Message = %q; want %q", clip(tt.body), de.Message, tt.wantMsg)
			}
			if de.Error() != de.Message {
				t.Errorf("DecodeError.Error() = %q; want the Message %q", de.Error(), de.Message)
			}
		})
	}
}

func TestDecodeUsageErrors(t *testing.T) {
	form := url.Values{"A": {"1"}}
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"non-pointer", simpleInputParams{}},
		{"nil pointer", (*simpleInputParams)(nil)},
		{"pointer to non-struct", ptr("x")},
		{"unsupported field type", &struct{ A chan int }{}},
		{"unsupported map key", &struct{ A map[int]string }{}},
		{"interface field", &struct{ A any }{}},
		{"pointer to pointer", &struct{ A **string }{}},
		{"flat on a scalar", &struct {
			A string `query:",flat"`
		}{}},
		{"member on a map", &struct {
			A map[string]string `query:",member=item"`
		}{}},
		{"key on a list", &struct {
			A []string `query:",key=K"`
		}{}},
		{"flat with member", &struct {
			A []string `query:",flat,member=item"`
		}{}},
		{"timestamp on a string", &struct {
			A string `query:",timestamp=epoch-seconds"`
		}{}},
		{"unknown option", &struct {
			A string `query:",required"`
		}{}},
		{"unknown timestamp format", &struct {
			A time.Time `query:",timestamp=unix"`
		}{}},
		{"name with a dot", &struct {
			A string `query:"A.B"`
		}{}},
		{"duplicate names", &struct {
			A string
			B string `query:"A"`
		}{}},
		{"duplicate through embedding", &struct {
			base
			Marker string
		}{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awsquery.Decode(form, tt.v)
			var de *awsquery.DecodeError
			if err == nil || errors.As(err, &de) {
				t.Errorf("Decode(%T) = %v; want a usage error", tt.v, err)
			}
			// A bad type keeps failing: the cached plan holds the error.
			if err2 := awsquery.Decode(form, tt.v); (err2 == nil) != (err == nil) {
				t.Errorf("second Decode(%T) = %v; want %v", tt.v, err2, err)
			}
		})
	}
}

// TestDecodeKeepsUnrelatedFields checks Decode only writes members present in
// the form, so callers may pre-fill defaults.
func TestDecodeKeepsUnrelatedFields(t *testing.T) {
	got := simpleInputParams{Foo: ptr("default")}
	form, _ := url.ParseQuery("Bar=b")
	if err := awsquery.Decode(form, &got); err != nil {
		t.Fatal(err)
	}
	if *got.Foo != "default" || *got.Bar != "b" {
		t.Errorf("Decode(Bar=b) over Foo=default = Foo %q, Bar %q; want default, b", *got.Foo, *got.Bar)
	}
}

// TestDecodeConcurrent builds the plan of a fresh type from many goroutines
// at once; run with -race.
func TestDecodeConcurrent(t *testing.T) {
	type fresh struct {
		A    []structArg
		B    map[string]*structArg
		Self *structArg
	}
	form, _ := url.ParseQuery("A.member.1.StringArg=x&B.entry.1.key=k&B.entry.1.value.RecursiveArg.OtherArg=true&Self.StringArg=s")
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			var got fresh
			if err := awsquery.Decode(form, &got); err != nil {
				t.Error(err)
				return
			}
			if *got.A[0].StringArg != "x" || !*got.B["k"].RecursiveArg.OtherArg || *got.Self.StringArg != "s" {
				t.Errorf("Decode(%v) = %+v", form, got)
			}
		})
	}
	wg.Wait()
}
