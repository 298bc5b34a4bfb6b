import { existsSync } from 'node:fs';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeOciImageArchive, type OciImageArchive } from '../../src/controlplane/oci-image.ts';

/**
 * Small workload images for tests on the local node (which has no registry):
 * Debian's static busybox with a few applets, packed as an OCI archive.
 */
const BUSYBOX = '/bin/busybox';
export const BUSYBOX_IMAGE = 'flotilla.local/busybox:1';
const APPLETS = ['sh', 'echo', 'cat', 'mkdir', 'hostname', 'httpd', 'sleep'];

export async function busyboxImageArchive(scratchDir: string): Promise<OciImageArchive> {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`The test workload image is made from a static ${BUSYBOX}; install it with apt-get install busybox-static.`);
  }
  const rootfs = join(scratchDir, 'busybox-rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  for (const applet of APPLETS) await symlink('busybox', join(rootfs, 'bin', applet));
  return writeOciImageArchive({ name: BUSYBOX_IMAGE, rootfsDir: rootfs, entrypoint: ['/bin/sh'] }, join(scratchDir, 'busybox.tar'));
}
