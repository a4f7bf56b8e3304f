// Config.User and HostConfig.GroupAdd against the image's /etc/passwd and /etc/group
// (moby/sys/user GetExecUser + GetAdditionalGroups, moby's getUser).
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GROUP, PASSWD, build, refuses } from './testing';
import { getExecUser, parseGroup, parsePasswd } from './user';

describe('Config.User resolution', () => {
  // [User, GroupAdd, uid, gid, additionalGids]
  const cases: [string, string[], number, number, number[]][] = [
    ['', [], 0, 0, [0, 10]], // root is a member of wheel
    ['root', [], 0, 0, [0, 10]],
    ['0', [], 0, 0, [0, 10]],
    ['app', [], 1000, 1000, [1000, 10, 100]],
    ['1000', [], 1000, 1000, [1000, 10, 100]],
    ['app:users', [], 1000, 100, [100]], // explicit group: no membership groups
    ['app:0', [], 1000, 0, [0]],
    ['1000:1000', [], 1000, 1000, [1000]],
    ['4242', [], 4242, 0, [0]], // numeric uid not in passwd
    ['4242:4343', [], 4242, 4343, [4343]], // numeric ids in neither file
    ['daemon', ['tty', '100', '5000'], 1, 1, [1, 5, 100, 5000]],
    ['1000:1000', ['wheel', 'wheel', '10'], 1000, 1000, [1000, 10]], // duplicates once
  ];
  for (const [user, groupAdd, uid, gid, gids] of cases) {
    test(`User ${JSON.stringify(user)} GroupAdd ${JSON.stringify(groupAdd)}`, () => {
      const r = build({ config: { User: user }, hostConfig: { GroupAdd: groupAdd } });
      assert.deepEqual(r.spec.process!.user, { uid, gid, additionalGids: gids });
    });
  }
  test("the image's User applies unless the request has one", () => {
    assert.equal(build({ image: { Cmd: ['sh'], User: 'app' } }).spec.process!.user.uid, 1000);
    assert.equal(build({ image: { Cmd: ['sh'], User: 'app' }, config: { User: 'daemon' } }).spec.process!.user.uid, 1);
  });
  test('refusals name the user or group', () => {
    refuses({ config: { User: 'ghost' } }, 'unable to find user ghost: no matching entries in passwd file');
    refuses({ config: { User: 'app:ghosts' } }, 'unable to find group ghosts: no matching entries in group file');
    refuses({ config: { User: 'app' }, hostConfig: { GroupAdd: ['ghosts'] } }, 'Unable to find group ghosts: no matching entries in group file');
    refuses({ config: { User: '-1' } }, 'uids and gids must be in range 0-2147483647');
    refuses({ config: { User: '1:4294967296' } }, 'uids and gids must be in range');
  });
  test('an image without /etc/passwd: numbers work, names do not', () => {
    const files = { '/etc/passwd': undefined, '/etc/group': undefined };
    assert.deepEqual(build({ files, config: { User: '1000:1000' }, hostConfig: { GroupAdd: ['7'] } }).spec.process!.user, {
      uid: 1000, gid: 1000, additionalGids: [1000, 7],
    });
    assert.deepEqual(build({ files }).spec.process!.user, { uid: 0, gid: 0, additionalGids: [0] });
    refuses({ files, config: { User: 'app' } }, 'unable to find user app');
  });
});

describe('passwd and group parsing', () => {
  test('fields, blank lines, bad numbers read as 0 (as Go does)', () => {
    assert.deepEqual(parsePasswd('a:x:1:2::/h:/bin/sh\n\n  \nb:x:zz:3\n'), [
      { name: 'a', uid: 1, gid: 2, home: '/h' },
      { name: 'b', uid: 0, gid: 3, home: '' },
    ]);
    assert.deepEqual(parseGroup('g:x:5:a,b\nh:x:6:\n'), [
      { name: 'g', gid: 5, members: ['a', 'b'] },
      { name: 'h', gid: 6, members: [] },
    ]);
  });
  test('first match wins', () => {
    assert.equal(getExecUser('dup', 'dup:x:1:1::/:\ndup:x:2:2::/:', '').uid, 1);
  });
  test('home directory is reported', () => {
    assert.equal(getExecUser('app', PASSWD, GROUP).home, '/home/app');
  });
});
