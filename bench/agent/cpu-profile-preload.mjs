// Preloaded with `node --import` (also through NODE_OPTIONS, where --cpu-prof is refused): profiles the whole
// process with the inspector and writes <SKIFF_CPU_PROF_DIR>/<pid>.cpuprofile when it exits.
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env['SKIFF_CPU_PROF_DIR'];
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-thread session answers synchronously, so this works inside an 'exit' handler.
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
