import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, formatRows, preFormat, FormatError, GO_TYPE } from './index';
import { goSprintf } from './value';

const run = (src: string, data: unknown) => compile(src).execute(data);

test('fields, nested fields, missing keys, json', () => {
  const d = { Name: 'web', State: { Pid: 42, Running: true }, Config: { Env: ['A=1', 'B=2'], Labels: { k: 'v' }, Cmd: null } };
  assert.equal(run('{{.Name}} {{.State.Pid}} {{.State.Running}}', d), 'web 42 true');
  assert.equal(run('{{.Config.Env}}', d), '[A=1 B=2]');
  assert.equal(run('{{.Config.Labels}}', d), 'map[k:v]');
  assert.equal(run('{{.Nope}}', d), '<no value>');
  assert.equal(run('{{.Config.Cmd}}', d), '<nil>');
  assert.equal(compile('{{.Config.Cmd}}').execute(d, undefined, true), '<no value>');
  assert.equal(run('{{json .Config}}', d), '{"Env":["A=1","B=2"],"Labels":{"k":"v"},"Cmd":null}');
  assert.equal(compile('{{json .Config}}').execute(d, undefined, true), '{"Cmd":null,"Env":["A=1","B=2"],"Labels":{"k":"v"}}');
  assert.equal(run('{{json .}}', { a: '<x>&' }), '{"a":"<x>&"}');
  assert.throws(() => run('{{.State.Health.Status}}', d), /nil pointer evaluating interface \{\}\.Status/);
});

test('range, if/else if/else, with, variables', () => {
  const d = { Args: ['a', 'b'], N: 0, Labels: { b: '2', a: '1' }, S: '' };
  assert.equal(run('{{range .Args}}[{{.}}]{{end}}', d), '[a][b]');
  assert.equal(run('{{range $i, $a := .Args}}{{$i}}={{$a}} {{end}}', d), '0=a 1=b ');
  assert.equal(run('{{range $k, $v := .Labels}}{{$k}}:{{$v}},{{end}}', d), 'a:1,b:2,');
  assert.equal(run('{{range .Nope}}x{{else}}empty{{end}}', d), 'empty');
  assert.equal(run('{{if .N}}yes{{else if .Args}}args{{else}}no{{end}}', d), 'args');
  assert.equal(run('{{if not .S}}blank{{end}}', d), 'blank');
  assert.equal(run('{{with .Labels}}{{.a}}{{end}}{{with .S}}x{{else}}none{{end}}', d), '1none');
  assert.equal(run('{{$x := .Args}}{{len $x}}{{$x = "z"}}{{$x}}', d), '2z');
  assert.equal(run('{{if and .Args (eq .N 0)}}ok{{end}}{{if or .S .N}}bad{{end}}', d), 'ok');
  assert.equal(run('{{range .Args}}{{if eq . "a"}}{{continue}}{{end}}{{.}}{{end}}', d), 'b');
});

test("docker's functions and Go builtins, pipelines, trim markers", () => {
  const d = { Name: 'My-Web app', Args: ['x', 'y'], Labels: { 'com.x': 'v' } };
  assert.equal(run('{{.Name | lower}}|{{upper .Name}}|{{title "hello wor-ld"}}', d), 'my-web app|MY-WEB APP|Hello Wor-Ld');
  assert.equal(run('{{join .Args ","}}', d), 'x,y');
  assert.equal(run('{{index .Labels "com.x"}}[{{index .Labels "none"}}]{{index .Args 1}}', d), 'v[]y');
  assert.equal(run('{{split "a:b:c" ":"}}', d), '[a b c]');
  assert.equal(run('{{printf "%s=%d %5s|%-3s|%q %v" "a" 7 "r" "l" "q" .Args}}', d), 'a=7     r|l  |"q" [x y]');
  assert.equal(run('{{println "a" 1}}', d), 'a 1\n');
  assert.equal(run('{{pad "x" 1 2}}|{{truncate "abcdef" 3}}|{{len .Name}}', d), ' x  |abc|10');
  assert.equal(run('a  {{- " b " -}}  c\n{{- /* comment */ -}}\nd', d), 'a b cd');
  assert.equal(run('{{(index .Args 0) | upper}}', d), 'X');
  assert.equal(run('{{"\\t" | printf "%q"}}', d), '"\\t"');
});

test('parse and execution errors carry Go wording', () => {
  assert.throws(() => compile('{{.ID'), /template: :1: unclosed action/);
  assert.throws(() => compile('{{nope .}}'), /template: :1: function "nope" not defined/);
  assert.throws(() => compile('{{if .A}}x'), /unexpected EOF/);
  assert.throws(() => compile('{{end}}'), /unexpected \{\{end\}\}/);
  class Row {
    readonly [GO_TYPE] = '*formatter.imageContext';
    get ID() {
      return 'x';
    }
  }
  assert.throws(() => compile('{{.Foo}}').execute(new Row()), {
    message: 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext',
  });
  assert.throws(() => formatRows('{{.Foo}}', [new Row()], {}), (e: Error) => e instanceof FormatError && e.message.startsWith('template parsing error: template: :1:2: executing'));
});

test('tables: header row from field names, tabwriter alignment (min 10, padding 3)', () => {
  const rows = [
    { Repository: 'busybox', Tag: 'latest', ID: 'abc' },
    { Repository: 'a-much-longer-repository/name', Tag: '1', ID: 'def' },
  ];
  const out = formatRows('table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}', rows, { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID' });
  assert.equal(
    out,
    'REPOSITORY                      TAG       IMAGE ID\n' +
      'busybox                         latest    abc\n' +
      'a-much-longer-repository/name   1         def\n',
  );
  // no rows: the header alone; a header function passes its input through
  assert.equal(formatRows('table {{.ID | lower}}\t{{json .Tag}}', [], { ID: 'IMAGE ID', Tag: 'TAG' }), 'IMAGE ID   TAG\n');
  // unknown header field: Go prints <no value>
  assert.equal(formatRows('table {{.X}}', [{ X: 1 }], {}), '<no value>\n1\n');
  assert.equal(formatRows('{{.ID}}', rows, {}), 'abc\ndef\n');
  assert.equal(preFormat('table  {{.A}}\\t{{.B}}\\n'), '{{.A}}\t{{.B}}\n');
  assert.equal(preFormat('json'), '{{json .}}');
});

test('Sprintf verbs', () => {
  assert.equal(goSprintf('%05d|%x|%X|%.2f|%t|%%|%c', [42, 255, 255, 3.14159, true, 65]), '00042|ff|FF|3.14|true|%|A');
  assert.equal(goSprintf('%d', []), '%!d(MISSING)');
  assert.equal(goSprintf('%s', ['a', 'b']), 'a%!(EXTRA string=b)');
});
