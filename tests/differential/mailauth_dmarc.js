'use strict';
// mailauth_dmarc.js - mailauth@4's DMARC verdict for dmarc_diff.py's cases.
// Usage: node mailauth_dmarc.js NODE_MODULES_DIR NS_PORT < cases.json
// Prints "name result policy" per case.  DNS: the nsd that dmarc_diff.py
// starts on 127.0.0.1:NS_PORT, through Node's own resolver.
const path = require('path');
const { Resolver } = require('node:dns').promises;
const verify = require(path.resolve(process.argv[2], 'mailauth/lib/dmarc/verify.js'));

// NXDOMAIN is ENOTFOUND, NODATA ENODATA, as mailauth expects
const ns = new Resolver({ timeout: 3000, tries: 2 });
ns.setServers([`127.0.0.1:${process.argv[3]}`]);
const resolver = (name, type) => ns.resolve(name, type);

const main = async () => {
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    for (const c of cases) {
        const r = await verify({
            headerFrom: 'user@' + c.from,
            spfDomains: c.spfDomains,
            dkimDomains: c.dkimDomains,
            resolver
        });
        const res = r && r.status ? r.status.result : 'error';
        console.log(`${c.name} ${res} ${res === 'fail' ? r.policy || '-' : '-'}`);
    }
};
main().catch(e => { console.error(e); process.exit(2); });
