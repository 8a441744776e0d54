'use strict';
// mailauth7_walk.js - mailauth@7.1.0's DMARC verdict (RFC 9989 DNS tree
// walk, psd, np, t) for walk_diff.py's cases, every record looked up in
// real DNS: the nsd that walk_diff.py starts, through Node's own resolver.
// Usage: node mailauth7_walk.js NODE_MODULES_DIR NS_PORT < cases.json
// Prints per case: "name result policy-domain org-domain disposition"
// ("-" when empty; disposition, the policy after t=y, for a fail only).
const path = require('path');
const { Resolver } = require('node:dns').promises;
const mods = process.argv[2];
const verify = require(path.resolve(mods, 'mailauth7/lib/dmarc/verify.js'));
const version = require(path.resolve(mods, 'mailauth7/package.json')).version;

if (version !== '7.1.0') {
    console.error(`mailauth7 is ${version}, not 7.1.0`);
    process.exit(2);
}

// one resolver asking nsd only: NXDOMAIN is ENOTFOUND, NODATA ENODATA
const ns = new Resolver({ timeout: 3000, tries: 2 });
ns.setServers([`127.0.0.1:${process.argv[3]}`]);
const resolver = (name, type) => ns.resolve(name, type);

const main = async () => {
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    for (const c of cases) {
        const r = await verify({
            headerFrom: 'user@' + c.from,
            spfDomains: c.spfDomains,
            dkimDomains: c.dkimDomains.map(domain => ({ domain })),
            resolver
        });
        const res = r && r.status ? r.status.result : 'error';
        const dis = res === 'fail' && r.policy ? r.policy : '-';
        if (r && r.error) {
            console.error(`${c.name} ${res}: ${r.error}`);
        }
        console.log(`${c.name} ${res} ${r.policyDomain || '-'} ${r.domain || '-'} ${dis}`);
    }
};
main().catch(e => {
    console.error(e);
    process.exit(2);
});
