// zf_train CONFIG: trains the network a YAML config describes (see README.md, "zf_train").
// Exit codes: 0 done (or stopped by --max-iters), 1 error, 2 bad command line, 3 training diverged,
// 130 / 143 stopped by SIGINT / SIGTERM (state saved; the same command with --resume continues).
// Under mpirun (`mpirun -np N zf_train CONFIG`) the N ranks train one model on slices of every
// global batch (train/comm.h); rank 0 alone prints and writes; an error every rank meets alike is
// reported once, one a rank meets alone ends every rank (MPI_Abort).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "train/cli.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  zf::TrainOptions o;
  CLI::App app{
      "train a convnet described by a YAML config (SGD with momentum, filter "
      "renormalization, checkpoints in <out>/ckpt, metrics in <out>/metrics.csv)"};
  app.add_option("config", o.config, "YAML config (e.g. configs/fashion.yaml)")->required();
  app.add_option("--out", o.out, "output folder (default runs/<config name>)");
  app.add_option("--device", o.device, "cpu | cuda | auto (default: the config's train.device)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--conv-math", o.conv_math,
                 "GPU convolutions in fp32 or on tf32 tensor cores (overrides train.conv_math; "
                 "default: ZF_CONV_MATH, else fp32)")
      ->check(CLI::IsMember({"fp32", "tf32"}));
  auto* resume = app.add_flag("--resume", o.resume,
                              "continue from <out>/ckpt/last.h5 with the same RNG stream");
  app.add_option("--max-iters", o.max_iters,
                 "stop after this many SGD steps in all, saving last.h5")
      ->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "override train.epochs")->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "override train.seed")->check(CLI::NonNegativeNumber);
  app.add_option("--limit-train", o.limit_train, "use only the first N training samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--limit-val", o.limit_val, "use only the first N validation samples (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", o.batch, "override train.batch")->check(CLI::PositiveNumber);
  app.add_option("--train-data", o.train_data,
                 "override data.train (path in the config's data format)");
  app.add_option("--val-data", o.val_data, "override data.val");
  app.add_flag("--evaluate", o.evaluate_only,
               "only evaluate <out>/ckpt/last.h5 on the validation set (data.eval_crops views) and "
               "print it")
      ->excludes(resume);
  auto* init = app.add_option("--init-from", o.init_from,
                               "start from this checkpoint's weights (zf_import's, or another "
                               "run's), loaded by layer name, and its input normalization")
                    ->check(CLI::ExistingFile)
                    ->excludes(resume);
  app.add_option("--reinit", o.reinit,
                 "with --init-from: layers initialized as the config says instead of loaded "
                 "(e.g. fc8, for a new number of classes); comma-separated")
      ->delimiter(',')
      ->needs(init);
  app.add_flag("--nccl", o.nccl,
               "GPU training: sum the gradients through NCCL even in one process (a check of the "
               "NCCL path without mpirun; the weights are the same as without it)");
  app.name("zf_train");
  if (int rc = zf::parse_cli(app, argc, argv); rc >= 0) return rc;
  std::unique_ptr<zf::Comm> comm;
  try {
    comm = zf::make_comm();
  } catch (const std::exception& e) {
    if (zf::launched_rank() == 0) zf::report_error("zf_train", e);  // every rank meets it alike
    return 1;
  }
  o.comm = comm.get();
  const bool lead = comm->rank() == 0;  // prints what every rank meets alike
  try {
    zf::TrainResult r = zf::train(o);
    if (lead && r.finished && !r.state.metrics.empty()) {
      const zf::EpochMetrics& m = r.state.metrics.back();
      std::printf("%s: %d epochs, val top-1 accuracy %.4f, top-5 %.4f, val loss %.4f\n",
                  o.evaluate_only ? "evaluated" : "done", m.epoch, m.val_top1, m.val_top5,
                  m.val_loss);
    }
    return 0;
  } catch (const zf::StartFailed& e) {
    const std::string who =
        lead ? "zf_train" : zf::strprintf("zf_train (rank %d of %d)", comm->rank(), comm->size());
    if (e.report()) zf::report_error(who.c_str(), e);
    return 1;
  } catch (const zf::Interrupted& e) {
    if (lead) zf::report_error("zf_train", e);
    return 128 + e.signal();  // 130 for SIGINT, 143 for SIGTERM, as a shell reports a killed job
  } catch (const zf::Diverged& e) {
    if (lead) zf::report_error("zf_train", e);
    return 3;
  } catch (const std::exception& e) {
    if (comm->size() == 1) {
      zf::report_error("zf_train", e);
      return 1;
    }
    // Met by this rank alone while the others may wait for it in a collective: end them all.
    const std::string who = zf::strprintf("zf_train (rank %d of %d)", comm->rank(), comm->size());
    zf::report_error(who.c_str(), e);
    comm->abort(1);
    return 1;
  }
}
